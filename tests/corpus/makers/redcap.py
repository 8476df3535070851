"""REDCap exports a hand cannot write: a records column's every value changed, a row cut."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def _table(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _written(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def column_set(
    folder: Path, path: Path, column: str, value: str, where_filled: bool = True
) -> bytes:
    """Every (filled) value of a records column set to `value`."""
    header, *rows = _table(path)
    at = header.index(column)
    for row in rows:
        if row[at] or not where_filled:
            row[at] = value
    return _written([header, *rows])


def row_cut(folder: Path, path: Path, row: int, fields: int) -> bytes:
    """Spreadsheet row `row` (header 1) cut to its first `fields` fields."""
    rows = _table(path)
    rows[row - 1] = rows[row - 1][:fields]
    return _written(rows)
