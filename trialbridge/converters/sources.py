"""Readers for native form exports (CSV, XLSX). Every row keeps its lineage: file and
spreadsheet row number; every table says how many rows the file held and which were left out
(see `counted`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialbridge.converters.csv_text import read_csv_table
from trialbridge.converters.lineage import COLUMN, FILE, LINEAGE, ROW
from trialbridge.converters.xlsx import read_xlsx_table
from trialbridge.errors import UserError
from trialbridge.study import Source

__all__ = ["COLUMN", "FILE", "LINEAGE", "ROW", "read_source"]


def read_source(path: Path, source: Source, shown_as: str) -> pd.DataFrame:
    """All columns as trimmed text (missing markers -> NA), plus lineage columns.

    The row number is the spreadsheet row: the header is row 1, the first record row 2.
    attrs["rows_read"] counts the rows below the header, attrs["rows_skipped"] those left
    out by reason (blank ones under "blank")."""
    if not path.is_file():
        raise UserError(
            f"source '{source.name}' file not found",
            shown_as,
            "check 'file' under sources in study.yaml",
        )
    if source.kind == "xlsx":
        frame = read_xlsx_table(path, shown_as, source.sheet, source.missing)
    else:
        frame = read_csv_table(
            path,
            shown_as,
            delimiter=source.delimiter,
            encoding=source.encoding,
            missing=source.missing,
        )
    rows = frame.pop(ROW)
    frame[FILE] = shown_as
    frame[ROW] = rows
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    return frame
