"""The errors file: every problem a failed run gathered, as CSV a data manager can sort."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from trialbridge.errors import Problems, UserErrors
from trialbridge.sdtm.write import write_text

NAME = "errors.csv"


def render(problems: Problems) -> bytes:
    """One row per problem kept, grouped by file and column, in row order within them; a
    closing row per group says how many of its problems were counted but not listed."""
    groups: dict[tuple[str, str], list[tuple[str, int | None, str, str, str]]] = {}
    for parts in (e.parts() for e in problems.kept):
        groups.setdefault((parts[0], parts[2]), []).append(parts)
    counted: dict[tuple[str, str], int] = {}
    for (file, column, _), count in problems.per_kind.items():
        counted[(file, column)] = counted.get((file, column), 0) + count
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("file", "row", "column", "problem", "fix"))
    for file, column in sorted(groups.keys() | counted.keys()):
        listed = sorted(groups.get((file, column), []), key=lambda p: _row_order(p[1]))
        for _, row, _, problem, fix in listed:
            writer.writerow((file, "" if row is None else row, column, problem, fix))
        left = counted.get((file, column), 0) - len(listed)
        if left > 0:
            writer.writerow((file, "", column, f"{left} more problems here, not listed", ""))
    return buffer.getvalue().encode()


def _row_order(row: int | None) -> int:
    return row if row is not None else -1


def write(errors: UserErrors, folder: Path) -> Path | None:
    """errors.csv in `folder` when there is more than one problem (the line names it), else
    none (an earlier run's would list problems fixed since); a folder that cannot be written
    leaves the one line to say what it can."""
    path = folder / NAME
    try:
        if errors.problems.total <= 1:
            path.unlink(missing_ok=True)
            return None
        write_text(path, render(errors.problems))
    except OSError:
        return None
    errors.listed_in = str(path)
    return path
