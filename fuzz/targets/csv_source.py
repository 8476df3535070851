"""CSV form exports, read as `convert` reads a study's CSV source: `read_tables` with a
source that names the file and nothing else (comma, UTF-8, empty cells missing)."""

from __future__ import annotations

from pathlib import Path

from fuzz import material
from fuzz.target import Feed, Target, fixed_seeds, source_feed, under

MAX_LEN = 16_384


def prepare(work: Path, made: Path) -> Feed:
    return source_feed(work, made, "raw/form.csv")


def seeds(made: Path) -> dict[str, bytes]:
    fixtures = material.fixtures(made)
    found = {
        f"{p.parent.parent.name}-{p.name}": p.read_bytes()
        for p in sorted(fixtures.glob("*/raw/*.csv"))
    }
    return under(MAX_LEN, found | fixed_seeds("csv"))


TOKENS = (
    b'"',
    b'""',
    b",",
    b"\r\n",
    b"\r",
    b"\n",
    b"\xef\xbb\xbf",  # UTF-8 byte order mark
    b"\xff\xfe",  # UTF-16 LE byte order mark
    b"\xfe\xff",
    b"\x00",
    b"\x1b[31m",
    b"\xc2\x85",  # NEL
    b"\xe2\x80\xa8",  # LINE SEPARATOR
    b"\xc3\xa9",
    b"\xe9",
    b"Subject No.",
    b"Visit",
    b"UN/UN/",
    b"dd/mm/yyyy",
)

TARGET = Target("csv", prepare, seeds, TOKENS, MAX_LEN)
