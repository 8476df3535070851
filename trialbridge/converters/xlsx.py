"""XLSX exports as text tables: one worksheet, its first row the header, every other row a
record numbered as the spreadsheet numbers it.

The archive is checked before openpyxl opens it: its declared sizes and compression ratios
(a zip bomb is refused from its directory), and a DOCTYPE in any of its XML parts (openpyxl's
parser would resolve entities). The sheet's XML is scanned once for what the cell values hide:
merged cells (the value sits in the first cell only) and formulas that were never computed
(they read as blank)."""

from __future__ import annotations

import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from trialbridge.converters.csv_text import MAX_COLUMNS
from trialbridge.converters.lineage import BLANK
from trialbridge.converters.source_cells import (
    check_header,
    counted,
    report_at_rows,
    shown_value,
    text_frame,
)
from trialbridge.errors import KEEP_PER_KIND, UserError
from trialbridge.xml_safety import check_prolog

MAX_UNCOMPRESSED = 1 << 30  # all parts together, as the archive's directory declares them
MAX_RATIO = 100  # a part over 1 MiB compressed more than this is a bomb, not a sheet
_RATIO_FROM = 1 << 20
_XML_HEAD = 64 << 10
_CHUNK = 4 << 20
_CARRY = 64 << 10  # a <c> or <mergeCell> element never spans more
_FIX_EXPORT = "export the form as .xlsx again, or as CSV"
# what zipfile raises on a damaged archive: a bad directory or CRC, broken deflate data, a
# cut member, an unsupported compression method or version, an encrypted member, a name
# flagged as UTF-8 that is not
_DAMAGED = (
    *(zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError),
    UnicodeDecodeError,
)
# and openpyxl, on a damaged part (XML syntax errors are SyntaxErrors)
_BROKEN = (*_DAMAGED, InvalidFileException, KeyError, ValueError, SyntaxError)
# openpyxl builds its objects from a part's XML attributes and indexes: a damaged part can also
# end in TypeError (an attribute no keyword takes), IndexError (a style index past the list)
# or OverflowError (a date serial past the calendar)
_BUILT = (*_BROKEN, TypeError, IndexError, OverflowError)
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')
# a row's number; openpyxl passes over a row numbered below one it has read, unseen
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="([0-9]+)"')
_UNCOMPUTED = re.compile(
    rb'<(?:\w+:)?c\s+r="([A-Z]+)([0-9]+)"[^>]*>\s*'
    rb"<(?:\w+:)?f\b(?:[^>]*/>|[^>]*>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)


def read_xlsx_table(path: Path, shown: str, sheet: str | None, missing: list[str]) -> pd.DataFrame:
    """The sheet's records as trimmed text (missing markers -> NA), with ROW; blank rows
    dropped and counted. Real date cells become ISO 8601 text (yyyy-mm-dd, with THH:MM:SS
    when they carry a time), so a `date` transform with format yyyy-mm-dd reads them."""
    try:
        with _opened(path, shown) as archive:
            _check_archive(archive, shown)
    except _DAMAGED as exc:
        raise _broken(exc, shown) from None
    with warnings.catch_warnings():
        # openpyxl warns of what it passes over (no default style, an extension it does not
        # read, a sheet entry that names no part): printed, each would be a second line under
        # the command's own; what the reader needs and cannot find is an error of its own
        warnings.filterwarnings("ignore", category=UserWarning, module=r"openpyxl(\.|$)")
        cells, title = _read_sheet(path, shown, sheet)
    return _table(cells, shown, title, missing)


def _read_sheet(path: Path, shown: str, sheet: str | None) -> tuple[_Cells, str]:
    """The sheet's cells as openpyxl reads them, and its title."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _BUILT as exc:
        raise _broken(exc, shown) from None
    try:
        worksheet = _worksheet(book, sheet, shown)
        with _opened(path, shown) as archive:
            member = worksheet._worksheet_path
            uncomputed = _check_sheet_xml(archive, member, shown, worksheet.title)
        cells = _cells(worksheet, shown)  # openpyxl parses the sheet as it hands rows over
    except _BROKEN as exc:
        raise _broken(exc, shown) from None
    finally:
        book.close()
    cells.uncomputed = uncomputed
    return cells, worksheet.title


def _broken(exc: Exception, shown: str) -> UserError:
    """The library's words quote the part (names, values): escaped and cut."""
    if isinstance(exc, UnicodeDecodeError):  # zipfile decodes the names flagged as UTF-8
        byte = f"0x{exc.object[exc.start]:02X}"
        what = f"the workbook is damaged: a part's name is not UTF-8 (byte {byte})"
        return UserError(what, shown, _FIX_EXPORT)
    if isinstance(exc, IndexError):  # openpyxl's words would be 'list index out of range'
        what = "the workbook is damaged: a part refers to an entry its list does not hold"
        return UserError(f"{what} (a style or a shared string)", shown, _FIX_EXPORT)
    detail = shown_value(" ".join(str(exc).split()), 200)
    return UserError(f"cannot read the workbook: {detail}", shown, _FIX_EXPORT)


def _opened(path: Path, shown: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _not_a_workbook(path, shown) from None


def _not_a_workbook(path: Path, shown: str) -> UserError:
    """An encrypted workbook is an OLE2 file holding an EncryptedPackage stream; so is an old
    .xls, without that stream."""
    with path.open("rb") as handle:
        head = handle.read(8)
        handle.seek(0)
        data = handle.read(8 << 20)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if "EncryptedPackage".encode("utf-16-le") in data:
            return UserError(
                "the workbook is encrypted (password-protected)",
                shown,
                "save it without a password and export the form again",
            )
        return UserError(
            "the file is an old Excel .xls workbook (or another OLE2 file), not .xlsx",
            shown,
            "save it as .xlsx or CSV",
        )
    return UserError("not an .xlsx workbook", shown, "export the form as .xlsx or CSV")


def _check_archive(archive: zipfile.ZipFile, shown: str) -> None:
    """Refuse a zip bomb from the sizes the directory declares (zipfile stops any part at
    its declared size), and a DOCTYPE in any XML part."""
    parts = archive.infolist()
    total = sum(part.file_size for part in parts)
    if total > MAX_UNCOMPRESSED:
        raise UserError(
            f"the workbook would expand to {total:,} bytes, more than the limit of "
            f"{MAX_UNCOMPRESSED:,}",
            shown,
            "split the export, or export it as CSV",
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size > _RATIO_FROM and ratio > MAX_RATIO:
            raise UserError(
                f"part {shown_value(part.filename)} would expand {ratio:,.0f} times (from "
                f"{part.compress_size:,} to {part.file_size:,} bytes): a zip bomb, not a sheet",
                shown,
                _FIX_EXPORT,
            )
    for part in parts:
        if part.filename.endswith((".xml", ".rels")):
            with archive.open(part) as handle:
                head = handle.read(_XML_HEAD + 1)
            check_prolog(
                head[:_XML_HEAD],
                f"{shown}, part {shown_value(part.filename)}",
                len(head) <= _XML_HEAD,
                "a workbook needs no DTD: " + _FIX_EXPORT,
            )


def _worksheet(book: Any, sheet: str | None, shown: str) -> ReadOnlyWorksheet:
    sheets = book.worksheets
    if not sheets:
        raise UserError("the workbook has no worksheet", shown, _FIX_EXPORT)
    if sheet is None:
        return sheets[0]
    for found in sheets:
        if found.title == sheet:
            return found
    names = ", ".join(f"'{shown_value(s.title)}'" for s in sheets[:20])
    names += ", ..." if len(sheets) > 20 else ""
    raise UserError(
        f"worksheet '{shown_value(sheet)}' not found; the workbook has {names}",
        shown,
        "set 'sheet' for this source in study.yaml to one of them",
    )


def _check_sheet_xml(
    archive: zipfile.ZipFile, member: str, shown: str, title: str
) -> dict[int, list[int]]:
    """Refuse merged cells and rows out of order; return the cells whose formula was never
    computed (rows by column index), found in the sheet's XML."""
    merged: list[bytes] = []
    uncomputed: dict[int, list[int]] = {}
    last_row = 0
    for text, end in _chunks(archive, member):
        merged += [m.group(1) for m in _MERGE.finditer(text) if m.start() < end]
        for m in _ROW.finditer(text):
            if m.start() < end:
                last_row = _next_row(int(m.group(1)), last_row, shown, title)
        for m in _UNCOMPUTED.finditer(text):
            if m.start() < end:
                column = column_index_from_string(m.group(1).decode()) - 1
                uncomputed.setdefault(column, []).append(int(m.group(2)))
    if merged:
        cells = merged[0].decode()
        more = f" (and {len(merged) - 1} more merged ranges)" if len(merged) > 1 else ""
        raise UserError(
            f"cells {cells} are merged{more}: a merged cell's value sits in its first cell only",
            f"{shown}, sheet {shown_value(title)}",
            "unmerge the cells and fill each one",
        )
    return uncomputed


def _next_row(number: int, last: int, shown: str, title: str) -> int:
    if number <= last:
        raise UserError(
            f"row {number} comes after row {last} in the sheet's XML (rows out of order or "
            "repeated: a damaged sheet, whose row would be lost)",
            f"{shown}, sheet {shown_value(title)}",
            _FIX_EXPORT,
        )
    return number


def _chunks(archive: zipfile.ZipFile, member: str) -> Iterator[tuple[bytes, int]]:
    """The member's bytes in overlapping chunks, each with the offset up to which matches
    belong to it (the rest is seen again at the start of the next)."""
    carry = b""
    with archive.open(member) as handle:
        while True:
            block = handle.read(_CHUNK)
            text = carry + block
            if not block:
                yield text, len(text)
                return
            end = max(len(text) - _CARRY, 0)
            yield text, end
            carry = text[end:]


def _parsed_rows(worksheet: ReadOnlyWorksheet, shown: str) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows as openpyxl parses them, one by one (what it raises on the way is the
    part's damage; see _BUILT)."""
    rows = worksheet.iter_rows()
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except _BUILT as exc:
            raise _broken(exc, shown) from None
        yield cells


@dataclass
class _Cells:
    """The sheet as read: header, rows of text (None for empty), and the cells to report."""

    header: list[str | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    values: list[list[str | None]] = field(default_factory=list)
    errors: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    uncomputed: dict[int, list[int]] = field(default_factory=dict)
    last_row: int = 1


def _cells(worksheet: ReadOnlyWorksheet, shown: str) -> _Cells:
    """One pass over the rows (openpyxl hands over cells one by one: a sheet is a small
    export); the declared dimension is ignored, so a false one cannot pad the sheet."""
    worksheet.reset_dimensions()
    found = _Cells()
    for number, cells in enumerate(_parsed_rows(worksheet, shown), start=1):
        if len(cells) > MAX_COLUMNS:
            raise UserError(
                f"row {number} has {len(cells):,} columns, more than the limit of {MAX_COLUMNS:,}",
                shown,
                _FIX_EXPORT,
            )
        texts = []
        for column, cell in enumerate(cells):
            if cell.data_type == "e":
                found.errors.setdefault(column, []).append((number, str(cell.value)))
                texts.append(None)
            else:
                texts.append(_text(cell.value))
        if number == 1:
            found.header = texts
        elif any(t is not None for t in texts):
            found.rows.append(number)
            found.values.append(texts)
        found.last_row = number
    return found


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(cells: _Cells, shown: str, title: str, missing: list[str]) -> pd.DataFrame:
    header = list(cells.header)
    while header and header[-1] is None:
        header.pop()
    if not header:
        what = "is empty" if cells.last_row <= 1 and not cells.rows else "has no header row"
        raise UserError(
            f"worksheet '{shown_value(title)}' {what}",
            shown,
            "put the column names in row 1, data below",
        )
    width = len(header)
    check_header([name or "" for name in header], shown)
    _report_errors(cells, header, shown)
    _report_uncomputed(cells, header, shown)
    _report_beyond_header(cells, width, shown)
    columns = [[row[i] if i < len(row) else None for row in cells.values] for i in range(width)]
    names = [str(name) for name in header]
    frame, blank = text_frame(names, columns, np.array(cells.rows, np.int64), shown, missing)
    read = cells.last_row - 1  # every row below the header, up to the last one present
    return counted(frame, read, {BLANK: read - len(cells.rows) + blank})


def _report_errors(cells: _Cells, header: list[str | None], shown: str) -> None:
    for column, found in sorted(cells.errors.items()):
        rows = np.array([row for row, _ in found if row > 1], np.int64)
        texts = [
            f"the cell holds the spreadsheet error {shown_value(v)}" for row, v in found if row > 1
        ]
        report_at_rows(
            shown,
            rows,
            texts[:KEEP_PER_KIND],
            "correct the formula or the value in the workbook and export it again",
            kind="spreadsheet error",
            column=_column_name(header, column),
        )


def _report_uncomputed(cells: _Cells, header: list[str | None], shown: str) -> None:
    for column, rows in sorted(cells.uncomputed.items()):
        report_at_rows(
            shown,
            np.array(sorted(rows), np.int64),
            "the cell holds a formula that was never computed, so it has no value to read",
            "open and save the workbook in a spreadsheet program so formulas are computed, "
            "or paste the values",
            kind="formula never computed",
            column=_column_name(header, column),
        )


def _column_name(header: list[str | None], column: int) -> str:
    """The header's name of a column, else its letter."""
    name = header[column] if column < len(header) else None
    return name or get_column_letter(column + 1)


def _report_beyond_header(cells: _Cells, width: int, shown: str) -> None:
    """A value right of the last named column has no name to be read by: an error."""
    beyond: dict[int, list[int]] = {}
    for number, row in zip(cells.rows, cells.values, strict=True):
        for column in range(width, len(row)):
            if row[column] is not None:
                beyond.setdefault(column, []).append(number)
    for column, rows in sorted(beyond.items()):
        report_at_rows(
            shown,
            np.array(rows, np.int64),
            "the cell has a value but its column has no name in the header (row 1)",
            "name the column in row 1, or clear the cell",
            kind="value beyond the header",
            column=get_column_letter(column + 1),
        )
