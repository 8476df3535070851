"""SAS XPORT v5 read into columns: the records are one uint8 matrix; numbers come from IBM
floats for a whole column at once; text is cut from the matrix without trailing blanks and
handed to Arrow as one buffer. Reads the first member of a library, as SDTM files hold one."""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.errors import UserError
from trialbridge.sdtm.ibm import from_ibm
from trialbridge.sdtm.xport_write import RECORD

_LIBRARY = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_NAMESTR_HEAD = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
_OBS_HEAD = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
_MEMBER_HEAD = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi")
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


@dataclass(frozen=True)
class XportVariable:
    name: str
    label: str
    type: str  # "Char" or "Num"
    width: int
    position: int


@dataclass(frozen=True)
class Xport:
    name: str
    label: str
    variables: list[XportVariable]
    frame: pd.DataFrame


def read_xport(path: Path) -> Xport:
    """The dataset in an XPT v5 file; blank text as missing (NaN), as SAS has no empty text."""
    data = path.read_bytes()
    if not data.startswith(_LIBRARY):
        raise UserError("not a SAS XPORT v5 file", path, "give an .xpt file written as XPT v5")
    at = data.find(_NAMESTR_HEAD)
    obs = data.find(_OBS_HEAD)
    if at < 0 or obs < 0:
        raise UserError("XPT file has no variable or record section", path, "rewrite the file")
    name = data[at - 2 * RECORD + 8 : at - 2 * RECORD + 16].decode("ascii").rstrip()
    label = data[at - RECORD + 32 : at - RECORD + 72].decode("latin-1").rstrip()
    count = int(data[at + 54 : at + 58])
    size = 136 if data[at - 4 * RECORD + 74 : at - 4 * RECORD + 77] == b"136" else 140
    variables = [_variable(data, at + RECORD + i * size) for i in range(count)]
    body = data[obs + RECORD :]
    end = body.find(_MEMBER_HEAD)
    body = body if end < 0 else body[:end]
    width = max((v.position + v.width for v in variables), default=0)
    if width and body[_row_count(body, width) * width :].strip(b" "):
        raise UserError(
            "XPT file ends inside a record (truncated?)", path, "copy or export the file again"
        )
    return Xport(name, label, variables, _frame(body, variables))


def _variable(data: bytes, at: int) -> XportVariable:
    fields = _NAMESTR.unpack_from(data, at)
    return XportVariable(
        name=fields[4].decode("ascii").rstrip(),
        label=fields[5].decode("latin-1").rstrip(),
        type="Num" if fields[0] == 1 else "Char",
        width=fields[2],
        position=fields[14],
    )


def _frame(body: bytes, variables: list[XportVariable]) -> pd.DataFrame:
    width = max((v.position + v.width for v in variables), default=0)
    rows = _row_count(body, width)
    matrix = np.frombuffer(body, dtype=np.uint8, count=rows * width).reshape(rows, width)

    def column(variable: XportVariable) -> pd.Series:
        cells = matrix[:, variable.position : variable.position + variable.width]
        if variable.type == "Num":
            return pd.Series(from_ibm(cells), dtype="float64")
        return _text(cells)

    # numpy copies and Arrow kernels release the GIL: columns convert in parallel
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        converted = list(pool.map(column, variables))
    return pd.DataFrame({v.name: c for v, c in zip(variables, converted, strict=True)})


def _row_count(body: bytes, width: int) -> int:
    """Records in the body: trailing all-blank records that fit inside the last 80-byte
    block's padding are padding, not data."""
    if width == 0:
        return 0
    rows = len(body) // width
    while rows > 0 and (rows - 1) * width > len(body) - RECORD:
        last = body[(rows - 1) * width : rows * width]
        if last.strip(b" "):
            break
        rows -= 1
    return rows


def _text(cells: np.ndarray) -> pd.Series:
    """Text without trailing blanks, all-blank as missing, by Arrow compute on the column's
    bytes as one fixed-width buffer."""
    rows, width = cells.shape
    block = pa.py_buffer(np.ascontiguousarray(cells))
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), rows, [None, block])
    raw = fixed.cast(pa.large_binary())
    try:
        text = raw.cast(pa.large_string())
    except pa.ArrowInvalid:  # not UTF-8: SAS files in other encodings, read as Latin-1
        text = pa.array([v.decode("latin-1") for v in raw.to_pylist()], pa.large_string())
    text = pc.ascii_rtrim(text, " ")
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    return pd.Series(pd.arrays.ArrowStringArray(text), dtype=TEXT)
