"""Readers for native records. Every row keeps its lineage: file and spreadsheet row number."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.study import Source

FILE = "__file"
ROW = "__row"
COLUMN = "__column"
LINEAGE = (FILE, ROW, COLUMN)


def read_source(path: Path, source: Source, shown_as: str) -> pd.DataFrame:
    """All columns as trimmed text (missing markers -> NA), plus lineage columns.

    The row number is the spreadsheet row: the header is row 1, the first record row 2.
    """
    if not path.is_file():
        raise UserError(
            f"source '{source.name}' file not found",
            shown_as,
            "check 'file' under sources in study.yaml",
        )
    frame = (
        _read_xlsx(path, source, shown_as)
        if source.kind == "xlsx"
        else _read_csv(path, source, shown_as)
    )
    check_header(frame, shown_as)
    frame = frame.apply(lambda col: col.str.strip())
    frame = frame.mask(frame.isin(source.missing))
    frame[FILE] = shown_as
    frame[ROW] = pd.RangeIndex(2, len(frame) + 2)
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    # blank lines were kept so that row numbers match the file; now they go
    empty = frame.drop(columns=[FILE, ROW, COLUMN]).isna().all(axis=1)
    return frame.loc[~empty].reset_index(drop=True)


def _read_csv(path: Path, source: Source, shown_as: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            sep=source.delimiter,
            encoding=source.encoding,
            skip_blank_lines=False,
        )
    except UnicodeDecodeError:
        raise encoding_error(path, source, shown_as) from None
    except LookupError:
        raise UserError(
            f"unknown encoding '{source.encoding}'", shown_as, "use e.g. utf-8, latin-1, cp1252"
        ) from None
    except pd.errors.EmptyDataError:
        raise UserError("file is empty", shown_as, "export the form with its header row") from None
    except pd.errors.ParserError as exc:
        raise UserError(f"cannot parse CSV: {exc}", shown_as, "fix the row's field count") from None


def encoding_error(path: Path, source: Source, shown_as: str) -> UserError:
    """Where the first undecodable byte is: the parser's own offset is per chunk."""
    raw = path.read_bytes()
    try:
        raw.decode(source.encoding)
        start = 0
    except UnicodeDecodeError as exc:
        start = exc.start
    row = raw[:start].count(b"\n") + 1
    return UserError(
        f"byte 0x{raw[start]:02X} is not valid {source.encoding}",
        f"{shown_as}, row {row}",
        "save the file as UTF-8 or set 'encoding' for this source in study.yaml",
    )


def _read_xlsx(path: Path, source: Source, shown_as: str) -> pd.DataFrame:
    """Cells as text; real date cells become ISO 8601 (yyyy-mm-dd, with THH:MM:SS when they
    carry a time), so a `date` transform with format yyyy-mm-dd reads them."""
    try:
        frame = pd.read_excel(path, sheet_name=source.sheet or 0, dtype=object, engine="openpyxl")
    except (ValueError, KeyError) as exc:
        raise UserError(f"cannot read worksheet: {exc}", shown_as, "check 'sheet'") from None
    except (zipfile.BadZipFile, OSError):
        raise UserError(
            "not an .xlsx workbook", shown_as, "export the form as .xlsx or CSV"
        ) from None
    return frame.apply(_cell_text)


def _cell_text(column: pd.Series) -> pd.Series:
    def one(value: object) -> object:
        if isinstance(value, datetime):
            return value.date().isoformat() if value.time() == time() else value.isoformat()
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value

    values = column.map(one)  # one call per cell: spreadsheets are small exports
    return values.astype("str").mask(column.isna())


def check_header(frame: pd.DataFrame, shown_as: str) -> None:
    seen: set[str] = set()
    for name in frame.columns:
        base = str(name).split(".")[0] if str(name).rsplit(".", 1)[-1].isdigit() else str(name)
        if str(name).startswith("Unnamed:"):
            raise UserError("a header cell is empty", f"{shown_as}:1", "name every column")
        if base in seen and base != name:
            raise UserError(f"column '{base}' appears twice in the header", f"{shown_as}:1")
        seen.add(str(name))
