"""User-facing errors: one line saying what is wrong, where, and how to fix it.

A data problem (a bad value at a row) is reported through `report`: inside `collecting()`
every offending row is gathered and the run stops at the next `checkpoint()` with all of
them; outside, the first one is raised at once."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# rows kept for the errors file: per (file, column, problem) and in all; counts stay exact
KEEP_PER_KIND = 200
KEEP_IN_ALL = 10_000


class UserError(Exception):
    """Bad input or spec. The CLI prints `error: <where>: <what>` and exits 2.

    `file`, `row` and `column` are the place as parts (for the errors file); `where` is the
    place as shown."""

    def __init__(
        self,
        what: str,
        where: str | Path | None = None,
        fix: str | None = None,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.what = what
        self.where = str(where) if where is not None else None
        self.fix = fix
        self.file = file
        self.row = row
        self.column = column
        super().__init__(self.line())

    def line(self) -> str:
        """The single line shown to the user."""
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text}; {self.fix}"
        return " ".join(text.split())

    def parts(self) -> tuple[str, int | None, str, str, str]:
        """(file, row, column, problem, fix) for the errors file."""
        file = self.file if self.file is not None else (self.where or "")
        return (file, self.row, self.column or "", " ".join(self.what.split()), self.fix or "")


@dataclass
class Problems:
    """The problems found so far in a run: the first KEEP_IN_ALL kept, all counted."""

    kept: list[UserError] = field(default_factory=list)
    total: int = 0
    per_kind: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, error: UserError, kind: str | None = None) -> None:
        self.total += 1
        file, _, column, problem, _ = error.parts()
        key = (file, column, kind or problem)
        seen = self.per_kind.get(key, 0)
        self.per_kind[key] = seen + 1
        if seen < KEEP_PER_KIND and len(self.kept) < KEEP_IN_ALL:
            self.kept.append(error)


class UserErrors(UserError):
    """Several problems at once. The line names the first and how many there are; the
    command writes them all to errors.csv (`api.errors_listed_in`) and the line names it."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.listed_in: str | None = None
        first = problems.kept[0]
        super().__init__(
            first.what, first.where, first.fix, file=first.file, row=first.row, column=first.column
        )

    def line(self) -> str:
        first = super().line()
        if self.problems.total <= 1:
            return first
        where = f": all listed in {self.listed_in}" if self.listed_in else ""
        return f"{first} (and {self.problems.total - 1} more problems{where})"


_active: contextvars.ContextVar[Problems | None] = contextvars.ContextVar(
    "trialbridge_problems", default=None
)


def report(error: UserError, kind: str | None = None) -> None:
    """A problem with the input: gathered when a run collects them, else raised now. `kind`
    groups problems of one template (e.g. "not a valid date") whatever their values."""
    problems = _active.get()
    if problems is None:
        raise error
    problems.add(error, kind)


def report_rows(errors: list[UserError], total: int, kind: str) -> None:
    """Problems of one kind at many rows: `errors` for the first rows (at least one), `total`
    the number of rows. Raised at once (the first) when the run does not collect."""
    problems = _active.get()
    if problems is None:
        raise errors[0]
    for error in errors:
        problems.add(error, kind)
    problems.total += total - len(errors)
    # the rows not listed are counted where all listed ones are: their file and column, or
    # the file alone when they span columns (a melt's), or nowhere in particular
    files = {error.parts()[0] for error in errors}
    columns = {error.parts()[2] for error in errors}
    key = (files.pop() if len(files) == 1 else "", columns.pop() if len(columns) == 1 else "", kind)
    problems.per_kind[key] = problems.per_kind.get(key, 0) + total - len(errors)


def problem_count() -> int:
    """Problems gathered so far in this run (0 when it does not gather them)."""
    problems = _active.get()
    return problems.total if problems is not None else 0


def checkpoint() -> None:
    """Stop here if problems were gathered: what follows depends on clean values."""
    problems = _active.get()
    if problems is not None and problems.total:
        raise UserErrors(problems)


@contextmanager
def collecting() -> Iterator[Problems]:
    """Gather reported problems instead of stopping at the first. A UserError raised inside
    joins those gathered; any other failure after a problem was gathered is taken to follow
    from it (a bad value let through), so the problems are what the user sees."""
    problems = Problems()
    token = _active.set(problems)
    try:
        yield problems
        checkpoint()
    except UserErrors:
        raise
    except UserError as exc:
        if not problems.total:
            raise
        problems.add(exc)
        raise UserErrors(problems) from None
    except Exception:
        if not problems.total:
            raise
        raise UserErrors(problems) from None
    finally:
        _active.reset(token)


def at(file: str | Path, line: int | None = None, column: str | None = None) -> str:
    """Format a location: `file`, `file:line` or `file, line N, column C`."""
    where = str(file)
    if line is not None and column is not None:
        return f"{where}, row {line}, column {column}"
    if line is not None:
        return f"{where}:{line}"
    if column is not None:
        return f"{where}, column {column}"
    return where


def at_row(file: str | Path, row: int, column: str | None = None) -> str:
    """A data location: `file, row N` or `file, row N, column C` (header is row 1); in an
    XML export (ODM), `file, line N, item C`: the record's line and the item's name."""
    if str(file).lower().endswith(".xml"):
        where = f"{file}, line {row}"
        return f"{where}, item {column}" if column else where
    where = f"{file}, row {row}"
    return f"{where}, column {column}" if column else where


def row_error(
    what: str, file: str | Path, row: int, column: str | None = None, fix: str | None = None
) -> UserError:
    """A UserError at a data row, with its place kept in parts for the errors file."""
    return UserError(
        what, at_row(file, row, column), fix, file=str(file), row=row, column=column or None
    )
