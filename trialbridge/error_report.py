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
    rows = sorted(
        (e.parts() for e in problems.kept),
        key=lambda p: (p[0], p[2], p[1] if p[1] is not None else -1),
    )
    listed: dict[tuple[str, str], int] = {}
    for file, _, column, _, _ in rows:
        listed[(file, column)] = listed.get((file, column), 0) + 1
    counted: dict[tuple[str, str], int] = {}
    for (file, column, _), count in problems.per_kind.items():
        counted[(file, column)] = counted.get((file, column), 0) + count
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("file", "row", "column", "problem", "fix"))
    for file, row, column, problem, fix in rows:
        writer.writerow((file, "" if row is None else row, column, problem, fix))
    for (file, column), count in sorted(counted.items()):
        left = count - listed.get((file, column), 0)
        if left > 0:
            writer.writerow((file, "", column, f"{left} more problems here, not listed", ""))
    return buffer.getvalue().encode()


def write(errors: UserErrors, folder: Path) -> Path | None:
    """errors.csv in `folder` when there is more than one problem (the line names it); a
    folder that cannot be written leaves the one line to say what it can."""
    if errors.problems.total <= 1:
        return None
    path = folder / NAME
    try:
        write_text(path, render(errors.problems))
    except OSError:
        return None
    errors.listed_in = str(path)
    return path
