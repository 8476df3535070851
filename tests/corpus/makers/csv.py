"""CSV form exports a hand cannot write: every row cut short, a header thousands of columns
wide, one line of many megabytes."""

from __future__ import annotations

from pathlib import Path


def rows_cut(folder: Path, path: Path, fields: int) -> bytes:
    """The file with every data row cut to its first `fields` fields (the header kept)."""
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    cut = [",".join(row.split(",")[:fields]) for row in rows]
    return ("\n".join([header, *cut]) + "\n").encode()


def wide_header(folder: Path, path: Path, columns: int) -> bytes:
    """A header of `columns` names over the file's first column's values."""
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + "1\n").encode()


def long_line(folder: Path, path: Path, megabytes: int) -> bytes:
    """The file with one more row whose last value runs for `megabytes` MiB."""
    text = path.read_bytes()
    return text + b"099,SCR,12/06/2021,08:30,6.2,13.1,245," + b"9" * (megabytes << 20) + b"\n"


def rows_repeated(folder: Path, path: Path, row: str, times: int) -> bytes:
    """The file with `row` appended `times` times (a file of many bad rows)."""
    return path.read_bytes() + (row + "\n").encode() * times


def cr_only(folder: Path, path: Path) -> bytes:
    """The file with old Mac line ends: a carriage return alone."""
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")


def crlf(folder: Path, path: Path) -> bytes:
    """The file with Windows line ends."""
    return path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
