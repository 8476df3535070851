"""XPT v5 files, read as `validate` reads an SDTM folder: `read_folder` (the XPT reader, then
the dataset built on SDTMIG metadata)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pyreadstat

from fuzz import material
from fuzz.target import Feed, Target, under
from trialbridge.sdtm.read import read_folder

MAX_LEN = 32_768


def prepare(work: Path, made: Path) -> Feed:
    folder = work / "sdtm"
    folder.mkdir()
    path = folder / "ae.xpt"

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        read_folder(folder)

    return feed


def seeds(made: Path) -> dict[str, bytes]:
    found = {p.name: p.read_bytes() for p in sorted(material.sdtm(made).glob("*.xpt"))}
    return under(MAX_LEN, found | _other_writer())


def _other_writer() -> dict[str, bytes]:
    """Small files as pyreadstat writes them: no records, one variable, missing values."""
    frames = {
        "pyreadstat-empty.xpt": pd.DataFrame({"STUDYID": pd.Series([], dtype=object)}),
        "pyreadstat-mixed.xpt": pd.DataFrame(
            {"USUBJID": ["S-1", "", "S-3"], "AESEQ": [1.0, float("nan"), -2.5e-70]}
        ),
        "pyreadstat-one.xpt": pd.DataFrame({"X": [0.0]}),
    }
    written = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, frame in frames.items():
            path = Path(scratch) / name
            pyreadstat.write_xport(
                frame,
                str(path),
                table_name="AE",
                file_format_version=5,
                column_labels=[f"label of {c}" for c in frame.columns],
            )
            written[name] = path.read_bytes()
    return written


_RECORD = b"HEADER RECORD*******"
TOKENS = (
    _RECORD,
    *(
        _RECORD + kind + b"HEADER RECORD!!!!!!!"
        for kind in (b"LIBRARY ", b"MEMBER  ", b"DSCRPTR ", b"NAMESTR ", b"OBS     ")
    ),
    *(_RECORD + kind for kind in (b"LIBV8   ", b"MEMBV8  ", b"NAMSTV8 ", b"OBSV8   ", b"LABELV8 ")),
    b"000000000000000000000000000000  ",
    b"000000000000000001600000000140  ",
    b"SAS     SAS     SASLIB  9.4     ",
    b"SAS     AE      SASDATA 9.4     ",
    b"01JAN60:00:00:00",
    b"\x00\x01",  # numeric
    b"\x00\x02",  # character
    b"\x00\x08",
    b"\x00\xc8",  # 200 bytes
    b"\xff\xff",
    b"\x7f\xff",
    b"\x41\x10\x00\x00\x00\x00\x00\x00",  # 1.0 in IBM
    b"\x2e\x00\x00\x00\x00\x00\x00\x00",  # missing
    b"\x5f\x00\x00\x00\x00\x00\x00\x00",  # missing ._
    b"\x7f\xff\xff\xff\xff\xff\xff\xff",
    b"USUBJID ",
    b"AESEQ   ",
)

TARGET = Target("xpt", prepare, seeds, TOKENS, MAX_LEN)
