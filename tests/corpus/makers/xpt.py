"""Damaged XPT v5 files, made from the case's own files: bytes overwritten at a header's place,
a variable's NAMESTR fields changed, files cut short or joined."""

from __future__ import annotations

import struct
from pathlib import Path

NAMESTRS_AT = 640  # the first NAMESTR record, after the eight 80-byte header records
NAMESTR = 140
FIELDS = {"type": (0, ">h"), "length": (4, ">h"), "number": (6, ">h"), "position": (84, ">i")}


def patched(
    folder: Path, path: Path, at: int, text: str | None = None, hex: str | None = None
) -> bytes:
    """The file with the bytes at offset `at` replaced by ASCII `text` or raw `hex`."""
    data = bytearray(path.read_bytes())
    new = text.encode("ascii") if text is not None else bytes.fromhex(hex or "")
    data[at : at + len(new)] = new
    return bytes(data)


def namestr(
    folder: Path,
    path: Path,
    variable: str,
    field: str,
    value: int | None = None,
    text: str | None = None,
    hex: str | None = None,
) -> bytes:
    """The file with one field of `variable`'s NAMESTR record changed: type, length, number
    or position to `value`, or its name (8 bytes, blank-padded) to `text` or raw `hex`."""
    data = bytearray(path.read_bytes())
    count = int(data[560 + 54 : 560 + 58])
    at = next(
        NAMESTRS_AT + i * NAMESTR
        for i in range(count)
        if data[NAMESTRS_AT + i * NAMESTR + 8 : NAMESTRS_AT + i * NAMESTR + 16].rstrip()
        == variable.encode()
    )
    if field == "name":
        raw = text.encode("ascii") if text is not None else bytes.fromhex(hex or "")
        data[at + 8 : at + 16] = raw.ljust(8)[:8]
    else:
        offset, layout = FIELDS[field]
        struct.pack_into(layout, data, at + offset, value)
    return bytes(data)


def cut(folder: Path, path: Path, keep: int | None = None, drop: int | None = None) -> bytes:
    """The first `keep` bytes, or all but the last `drop`."""
    data = path.read_bytes()
    return data[:keep] if keep is not None else data[: len(data) - (drop or 0)]


def two_members(folder: Path, path: Path, other: str) -> bytes:
    """The file followed by `other`'s member (its records from the MEMBER header on): a
    library of two datasets."""
    return path.read_bytes() + (folder / other).read_bytes()[240:]


def copied(folder: Path, path: Path, source: str) -> bytes:
    return (folder / source).read_bytes()
