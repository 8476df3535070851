"""XLSX form exports, read as `convert` reads a study's XLSX source: `read_tables` with a
source that names the file and nothing else (its first sheet).

The mutator mostly changes one part of the workbook and builds the zip again around it, so
that changed XML gets past the CRC check to the XML reader; else the bytes as they are."""

from __future__ import annotations

import csv
import datetime
import io
import random
import zipfile
import zlib
from pathlib import Path

import openpyxl

from fuzz import material
from fuzz.target import Feed, Target, source_feed, under

MAX_LEN = 32_768
RAW_MUTATIONS = 0.2  # the share of mutations on the zip's bytes
# what zipfile raises on bytes that are no longer a zip it can unpack
_UNPACKABLE = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    KeyError,
    IndexError,
    UnicodeDecodeError,
)


def prepare(work: Path, made: Path) -> Feed:
    return source_feed(work, made, "raw/form.xlsx")


def seeds(made: Path) -> dict[str, bytes]:
    """The bundled study's forms as workbooks, with typed cells: numbers, dates, blanks."""
    found = {}
    for path in sorted((material.study(made) / "raw").glob("*.csv")):
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        found[f"{path.stem}.xlsx"] = _workbook(
            [rows[0], *([_typed(v) for v in r] for r in rows[1:])]
        )
    found["typed.xlsx"] = _workbook(
        [
            ["Subject No.", "Date", "Time", "Dose", "Flag", "Note"],
            ["001", datetime.date(2021, 6, 12), datetime.time(9, 30), 1.5, True, None],
            ["002", datetime.datetime(2021, 6, 13, 10, 0), None, -0.0, False, "=1+1"],
        ]
    )
    return under(MAX_LEN, found)


def _typed(value: str) -> object:
    try:
        return float(value) if value and not value.startswith("0") else value or None
    except ValueError:
        return value


def _workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    import atheris  # here: only the worker has it; the target's seeds run without it (tests)

    rng = random.Random(seed)
    parts = _parts(data)
    if not parts or rng.random() < RAW_MUTATIONS:
        return atheris.Mutate(data, max_size)
    index = rng.randrange(len(parts))
    name, body = parts[index]
    parts[index] = (name, atheris.Mutate(body, 2 * len(body) + 64))
    packed = _pack(parts, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))
    return packed if len(packed) <= max_size else atheris.Mutate(data, max_size)


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    """The zip's members in order, or none when zipfile cannot unpack it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(info.filename, archive.read(info)) for info in archive.infolist()]
    except _UNPACKABLE:
        return []


def _pack(parts: list[tuple[str, bytes]], method: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, body in parts:
            archive.writestr(name, body)
    return out.getvalue()


TOKENS = (
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"<sheetData>",
    b"<row r=",
    b'<c r="A1" t="s">',
    b'<c r="B2" t="n">',
    b't="inlineStr"',
    b't="e"',
    b't="b"',
    b't="str"',
    b"<is><t>",
    b"<v>",
    b"</v>",
    b"<f>",
    b"<si><t>",
    b"<mergeCell ref=",
    b"<dimension ref=",
    b"<numFmt numFmtId=",
    b' s="1"',
    b"_x0000_",
    b"<!DOCTYPE",
    b"xl/worksheets/sheet1.xml",
    b"xl/sharedStrings.xml",
    b"xl/workbook.xml",
    b"[Content_Types].xml",
    b"#N/A",
    b"#DIV/0!",
    b"1E+308",
    b"44197.5",
)

TARGET = Target("xlsx", prepare, seeds, TOKENS, MAX_LEN, mutator=mutate)
