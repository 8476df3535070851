"""XLSX workbooks written part by part, so a case can hold what spreadsheet programs write and
openpyxl would refuse to: error cells, formulas never computed, control characters in shared
strings, merged cells, a DOCTYPE in a part, a zip bomb, an encrypted or old .xls file."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_STRINGS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _xml_text(text: str) -> str:
    """Text as a shared string holds it: control characters as _xHHHH_ escapes."""
    return "".join(f"_x{ord(c):04X}_" if ord(c) < 32 and c not in "\t\n" else c for c in text)


def workbook(
    rows: list[list[str | None]],
    *,
    sheet: str = "Sheet1",
    merges: tuple[str, ...] = (),
    sheets: tuple[str, ...] = (),
) -> dict[str, bytes]:
    """The parts of a workbook whose first sheet holds `rows`. A cell is text (a shared
    string), None (no cell), '#ERR:<code>' (an error cell), '=<formula>' (a formula never
    computed) or '=<formula>=<value>' (a formula with its computed value)."""
    strings: list[str] = []
    lines = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if value is None:
                continue
            if value.startswith("#ERR:"):
                cells.append(f'<c r="{ref}" t="e"><v>{escape(value[5:])}</v></c>')
            elif value.startswith("="):
                formula, _, computed = value[1:].partition("=")
                cached = f"<v>{escape(computed)}</v>" if computed else "<v></v>"
                cells.append(f'<c r="{ref}"><f>{escape(formula)}</f>{cached}</c>')
            else:
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        if cells:
            lines.append(f'<row r="{r}">{"".join(cells)}</row>')
    merged = "".join(f'<mergeCell ref="{m}"/>' for m in merges)
    merge_part = f'<mergeCells count="{len(merges)}">{merged}</mergeCells>' if merges else ""
    sheet_xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
        f"<sheetData>{''.join(lines)}</sheetData>{merge_part}</worksheet>"
    )
    shared = "".join(f"<si><t>{escape(_xml_text(s))}</t></si>" for s in strings)
    names = (sheet, *sheets)
    sheet_entries = "".join(
        f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_SHEET}" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(names) + 1)
    )
    empty_sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="{MAIN}"><sheetData/>'
        "</worksheet>"
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                f'ContentType="{_CT}.worksheet+xml"/>'
                for i in range(1, len(names) + 1)
            )
            + f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{_DOC}" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
            f"<sheets>{sheet_entries}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="{PACKAGE_RELS}">'
            f"{sheet_rels}"
            f'<Relationship Id="rId{len(names) + 1}" Type="{_STRINGS}" '
            'Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet_xml,
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{MAIN}" count="{len(strings)}" '
            f'uniqueCount="{len(strings)}">{shared}</sst>'
        ),
    }
    for i in range(2, len(names) + 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = empty_sheet
    return {name: text.encode() for name, text in parts.items()}


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _csv_rows(folder: Path, csv_file: str) -> list[list[str | None]]:
    text = (folder / csv_file).read_text(encoding="utf-8")
    return [[v if v != "" else None for v in row] for row in csv.reader(io.StringIO(text))]


def _edited(rows: list[list[str | None]], cells: dict[str, str | None]) -> None:
    """Set cells by reference (B3): the row grows to hold it."""
    for ref, value in cells.items():
        found = re.fullmatch(r"([A-Z]+)([0-9]+)", ref)
        assert found, ref
        column = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(found[1]))) - 1
        row = int(found[2]) - 1
        while len(rows) <= row:
            rows.append([])
        rows[row].extend([None] * (column + 1 - len(rows[row])))
        rows[row][column] = value


def from_csv(
    folder: Path,
    path: Path,
    csv_file: str,
    cells: dict[str, str | None] | None = None,
    merges: list[str] | None = None,
    sheet: str = "Sheet1",
    sheets: list[str] | None = None,
    doctype_in: str | None = None,
    doctype: str = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
) -> bytes:
    """The rows of a CSV form export as a workbook, every value a shared string, with
    `cells` set (see `workbook` for the forms a cell takes), `merges` merged, and a DOCTYPE
    put into part `doctype_in`."""
    rows = _csv_rows(folder, csv_file)
    _edited(rows, cells or {})
    parts = workbook(rows, sheet=sheet, merges=tuple(merges or ()), sheets=tuple(sheets or ()))
    if doctype_in is not None:
        head, _, tail = parts[doctype_in].partition(b"?>\n")
        parts[doctype_in] = head + b"?>\n" + doctype.encode() + tail
    return zipped(parts)


def rows(folder: Path, path: Path, rows: list[list[str | None]], sheet: str = "Sheet1") -> bytes:
    return zipped(workbook(rows, sheet=sheet))


def bomb(folder: Path, path: Path, csv_file: str, megabytes: int = 40) -> bytes:
    """A workbook with one more part of zeros that compresses a thousandfold."""
    parts = workbook(_csv_rows(folder, csv_file))
    parts["xl/media/padding.bin"] = bytes(megabytes << 20)
    return zipped(parts)


def declared_huge(folder: Path, path: Path, csv_file: str) -> bytes:
    """A workbook whose directory declares a 4 GB sheet (the sizes patched in the central
    directory), as a zip bomb made by hand would."""
    data = bytearray(zipped(workbook(_csv_rows(folder, csv_file))))
    name = b"xl/worksheets/sheet1.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24 : at + 28] = (0xFFFF0000).to_bytes(4, "little")  # uncompressed size
    return bytes(data)


def ole(folder: Path, path: Path, encrypted: bool = True) -> bytes:
    """The start of an OLE2 compound file: an encrypted .xlsx holds an EncryptedPackage
    stream, an old .xls a Workbook stream."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    stream = "EncryptedPackage" if encrypted else "Workbook"
    return header + stream.encode("utf-16-le") + bytes(1024)


def damaged(folder: Path, path: Path, csv_file: str) -> bytes:
    """A workbook whose sheet XML was cut short (a broken copy)."""
    parts = workbook(_csv_rows(folder, csv_file))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-40]
    return zipped(parts)


def corrupted(
    folder: Path, path: Path, csv_file: str, part: str = "xl/worksheets/sheet1.xml"
) -> bytes:
    """A workbook whose part's compressed bytes were overwritten in the middle (a bad disk or
    transfer): the directory is intact, the data is not."""
    data = bytearray(zipped(workbook(_csv_rows(folder, csv_file))))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(part)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 16] = b"\xff" * 16
    return bytes(data)


def sheet_extra(folder: Path, path: Path, csv_file: str, xml: str) -> bytes:
    """The CSV form as a workbook with `xml` after the sheet's data (page setup, say)."""
    parts = workbook(_csv_rows(folder, csv_file))
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"</sheetData>", b"</sheetData>" + xml.encode())
    return zipped(parts)


def name_not_utf8(folder: Path, path: Path, csv_file: str) -> bytes:
    """The CSV form as a workbook whose directory flags a part's name as UTF-8 (bit 11) and
    holds a byte that UTF-8 cannot start with."""
    data = bytearray(zipped(workbook(_csv_rows(folder, csv_file))))
    at = data.find(b"PK\x01\x02")  # the first entry of the central directory
    flags = int.from_bytes(data[at + 8 : at + 10], "little") | 0x800
    data[at + 8 : at + 10] = flags.to_bytes(2, "little")
    data[at + 46] = 0x86
    return bytes(data)


def extra_part(folder: Path, path: Path, csv_file: str, name: str, text: str) -> bytes:
    """The CSV form as a workbook with one more part, `name`, holding `text`."""
    parts = workbook(_csv_rows(folder, csv_file))
    parts[name] = text.encode()
    return zipped(parts)


def local_name_not_utf8(folder: Path, path: Path, csv_file: str) -> bytes:
    """The CSV form as a workbook whose first part's own (local) header flags its name as
    UTF-8 and holds a byte UTF-8 cannot start with; the directory is sound."""
    data = bytearray(zipped(workbook(_csv_rows(folder, csv_file))))
    flags = int.from_bytes(data[6:8], "little") | 0x800
    data[6:8] = flags.to_bytes(2, "little")
    data[30] = 0xBB
    return bytes(data)


def saved_by_openpyxl(
    folder: Path, path: Path, csv_file: str, part: str, old: str, new: str
) -> bytes:
    """The CSV form as openpyxl saves a workbook (styles, theme, properties), with the first
    `old` in `part` replaced by `new`."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in _csv_rows(folder, csv_file):
        book.active.append(row)
    saved = io.BytesIO()
    book.save(saved)
    with zipfile.ZipFile(saved) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    assert old.encode() in parts[part], old
    parts[part] = parts[part].replace(old.encode(), new.encode(), 1)
    return zipped(parts)
