"""User-facing errors: one line saying what is wrong, where, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or spec. The CLI prints `error: <where>: <what>` and exits 2."""

    def __init__(self, what: str, where: str | Path | None = None, fix: str | None = None):
        self.what = what
        self.where = str(where) if where is not None else None
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        """The single line shown to the user."""
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text}; {self.fix}"
        return " ".join(text.split())


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
