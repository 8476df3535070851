"""Lineage: the columns that tie every SDTM record to the file and row it came from, and the
one way derivations report bad records by it.

A record mapped from native sources names its source file, row and (after a melt) column; a
record read from a sponsor's XPT or Dataset-JSON names that dataset file and its record
number. Errors quote these, whichever the records came from."""

from __future__ import annotations

import pandas as pd

from trialbridge.errors import KEEP_PER_KIND, report_rows, row_error

FILE = "__file"
ROW = "__row"
COLUMN = "__column"
LINEAGE = (FILE, ROW, COLUMN)
SUBJECT = "__subject"  # the subject id a source row names, before USUBJID is built


def fail_at(
    frame: pd.DataFrame,
    mask: pd.Series | pd.Index,
    what: str,
    column: str,
    fix: str,
    shown: str | None = None,
    melted: bool | None = None,
) -> None:
    """Report every offending row (`mask`: a boolean Series, or the rows' labels) by its
    file, row and column (raised at the first unless the run collects problems). `what` may
    hold {value}; `shown` names the column for the user when `column` is an internal one
    ('' to name none); `melted` says whether the value is a melted cell (default: compare)."""
    bad = frame.loc[mask]
    cells = bad[COLUMN]
    is_melted = pd.Series(bool(melted), index=bad.index) & cells.notna()
    if melted is None:  # while the raw columns are there: is the value the melted cell?
        for cell in cells.dropna().unique():
            if cell in bad.columns:
                rows = cells == cell
                same = bad.loc[rows, cell].eq(bad.loc[rows, column]).fillna(False)
                is_melted.loc[rows] = same.astype(bool)
    default = column if shown is None else shown
    places = pd.DataFrame(
        {
            "file": bad[FILE],
            "row": bad[ROW],
            "column": cells.where(is_melted, default),
            "value": bad[column],
        }
    ).drop_duplicates()  # a melted row repeats its source row's other cells
    errors = [
        row_error(what.format(value=value), file, int(row), col or None, fix)
        for file, row, col, value in places.head(KEEP_PER_KIND).itertuples(index=False)
    ]
    report_rows(errors, len(places), what)
