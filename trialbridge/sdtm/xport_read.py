"""SAS XPORT v5 read into columns: the records are one uint8 matrix; numbers come from IBM
floats for a whole column at once; text is cut from the matrix without trailing blanks and
handed to Arrow as one buffer. Reads the one member an SDTM file holds.

The header is read at its fixed places and checked before anything is allocated: every
count and length must fit the file's own size, so a damaged or hostile file is one line
naming the file and the record, never a bad allocation or a bare exception."""

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
from trialbridge.sdtm.printable import printable
from trialbridge.sdtm.xport_write import RECORD

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi")
# the fixed places of a v5 file's header records (each 80 bytes), first member
_MEMBER_AT, _DESCRIPTOR_AT, _MEMBER_DATA_AT, _NAMESTR_AT = 240, 320, 400, 560
_VARIABLES_AT = _NAMESTR_AT + RECORD
_NUMBER_WIDTHS = range(2, 9)  # IBM floats of 2 to 8 bytes
EXPORT_AGAIN = "export the dataset again as XPT v5"
COPY_AGAIN = "copy or export the file again"


def _head(kind: str) -> bytes:
    return f"HEADER RECORD*******{kind:8}HEADER RECORD!!!!!!!".encode("ascii")


_LIBRARY, _LIBRARY_V8 = _head("LIBRARY"), _head("LIBV8")
_MEMBER_HEAD, _DESCRIPTOR_HEAD = _head("MEMBER"), _head("DSCRPTR")
_NAMESTR_HEAD, _OBS_HEAD = _head("NAMESTR"), _head("OBS")


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
    variables: list[XportVariable]  # one per name, in file order: the frame's columns
    frame: pd.DataFrame
    repeated: tuple[XportVariable, ...] = ()  # later variables under a name already taken


def read_xport(path: Path) -> Xport:
    """The dataset in an XPT v5 file; blank text as missing (NaN), as SAS has no empty text.
    A variable name the file repeats keeps its first variable; the others are listed in
    `repeated`, not read."""
    data = path.read_bytes()
    _check_header(data, path)
    name = _ascii(data[_MEMBER_DATA_AT + 8 : _MEMBER_DATA_AT + 16], path, "the dataset name")
    label = data[_MEMBER_DATA_AT + 112 : _MEMBER_DATA_AT + 152].decode("latin-1").rstrip(" \0")
    size = _namestr_size(data)
    count = _variable_count(data, size, path)
    obs = _VARIABLES_AT + _padded(count * size)
    if not data.startswith(_OBS_HEAD, obs):
        raise _error(
            path,
            f"no OBS header record after the {count} variables' NAMESTR records (at byte {obs}):"
            " the variable count or the file is damaged",
        )
    variables = [_variable(data, _VARIABLES_AT + i * size, i + 1, path) for i in range(count)]
    _check_positions(variables, path)
    kept, repeated = _first_of_each_name(variables)
    start = obs + RECORD
    _check_one_member(data, start, path)
    width = sum(v.width for v in variables)
    rows = _row_count(data, start, len(data), width)
    if data[start + rows * width :].strip(b" "):
        raise _error(path, "XPT file ends inside a record (truncated?)", COPY_AGAIN)
    if len(data) % RECORD:
        raise _error(
            path,
            f"XPT file is {len(data)} bytes, not a whole number of {RECORD}-byte records"
            " (truncated?)",
            COPY_AGAIN,
        )
    matrix = np.frombuffer(data, dtype=np.uint8, count=rows * width, offset=start)
    return Xport(name, label, kept, _frame(matrix.reshape(rows, width), kept), tuple(repeated))


def _error(path: Path, what: str, fix: str = EXPORT_AGAIN) -> UserError:
    return UserError(what, path, fix, file=str(path))


def _padded(size: int) -> int:
    return size + (-size % RECORD)


def _check_header(data: bytes, path: Path) -> None:
    if data.startswith(_LIBRARY_V8):
        raise _error(
            path,
            "a SAS XPORT v8 file, not v5",
            "submissions take XPT v5: export it with the XPORT engine (v5)",
        )
    if not data.startswith(_LIBRARY):
        raise _error(path, "not a SAS XPORT v5 file", "give an .xpt file written as XPT v5")
    if len(data) < _VARIABLES_AT + RECORD:
        raise _error(
            path, f"XPT file ends inside its header ({len(data)} bytes; truncated?)", COPY_AGAIN
        )
    for at, head in (
        (_MEMBER_AT, _MEMBER_HEAD),
        (_DESCRIPTOR_AT, _DESCRIPTOR_HEAD),
        (_NAMESTR_AT, _NAMESTR_HEAD),
    ):
        if not data.startswith(head, at):
            kind = head[20:28].decode("ascii").rstrip()
            raise _error(
                path,
                f"XPT header record {at // RECORD + 1} (byte {at}) is not the {kind} header"
                f" record but '{printable(data[at : at + 48])}'",
            )
    size = data[_MEMBER_AT + 74 : _MEMBER_AT + 78]
    if size not in (b"0140", b"0136"):
        raise _error(
            path,
            f"the MEMBER header record gives a NAMESTR length of '{printable(size)}', not 0140"
            " or 0136",
        )


def _namestr_size(data: bytes) -> int:
    return 136 if data[_MEMBER_AT + 74 : _MEMBER_AT + 78] == b"0136" else 140


def _variable_count(data: bytes, size: int, path: Path) -> int:
    """The NAMESTR header's count, refused unless its records and the OBS header fit the file."""
    raw = data[_NAMESTR_AT + 54 : _NAMESTR_AT + 58]
    if not (raw.isascii() and raw.isdigit()):
        raise _error(
            path, f"the NAMESTR header record's variable count '{printable(raw)}' is not a number"
        )
    count = int(raw)
    if count == 0:
        raise _error(path, "the NAMESTR header record declares no variables")
    needed = _VARIABLES_AT + _padded(count * size) + RECORD
    if needed > len(data):
        raise _error(
            path,
            f"the NAMESTR header record declares {count} variables, whose records need"
            f" {needed} bytes, but the file has {len(data)} (truncated, or a wrong count?)",
        )
    return count


def _ascii(raw: bytes, path: Path, what: str) -> str:
    text = raw.rstrip(b" \0")
    if not all(0x20 <= b < 0x7F for b in text):
        raise _error(path, f"{what} has bytes that are not printable ASCII: '{printable(text)}'")
    return text.decode("ascii")


def _variable(data: bytes, at: int, number: int, path: Path) -> XportVariable:
    fields = _NAMESTR.unpack_from(data, at)
    kind, width, raw_name, position = fields[0], fields[2], fields[4], fields[14]
    place = f"variable {number} (NAMESTR record {number})"
    name = _ascii(raw_name, path, f"the name of {place}")
    if not name:
        raise _error(path, f"{place} has an empty name", "name every variable; " + EXPORT_AGAIN)
    place = f"variable {name} (NAMESTR record {number})"
    if kind not in (1, 2):
        raise _error(path, f"{place} has type code {kind}; XPT has 1 (numeric) and 2 (character)")
    if kind == 1 and width not in _NUMBER_WIDTHS:
        raise _error(path, f"{place} is numeric with length {width}; XPT numbers take 2 to 8 bytes")
    if width < 1:
        raise _error(path, f"{place} has length {width}; a variable takes at least 1 byte")
    return XportVariable(
        name=name,
        label=fields[5].decode("latin-1").rstrip(" \0"),
        type="Num" if kind == 1 else "Char",
        width=width,
        position=position,
    )


def _check_positions(variables: list[XportVariable], path: Path) -> None:
    """Each variable's bytes inside the observation (its length the sum of the lengths) and
    no two overlapping: then they tile it exactly, as XPT writes them."""
    length = sum(v.width for v in variables)
    end, before = 0, None
    numbered = sorted(enumerate(variables, 1), key=lambda item: item[1].position)
    for number, variable in numbered:
        place = f"variable {variable.name} (NAMESTR record {number})"
        start, stop = variable.position, variable.position + variable.width
        if start < 0 or stop > length:
            raise _error(
                path,
                f"{place} at position {start} with length {variable.width} does not fit the"
                f" {length}-byte observation its variables' lengths add up to",
            )
        if before is not None and start < end:
            raise _error(
                path,
                f"{place} at position {start} overlaps {before.name} (bytes"
                f" {before.position} to {end - 1})",
            )
        end, before = stop, variable


def _first_of_each_name(
    variables: list[XportVariable],
) -> tuple[list[XportVariable], list[XportVariable]]:
    seen: set[str] = set()
    kept, repeated = [], []
    for variable in variables:
        (repeated if variable.name in seen else kept).append(variable)
        seen.add(variable.name)
    return kept, repeated


def _check_one_member(data: bytes, start: int, path: Path) -> None:
    """No second member after the records start: an SDTM file holds one dataset, and reading
    only the first would drop the others unseen."""
    at = data.find(_MEMBER_HEAD, start)
    while at >= 0:
        if (at - start) % RECORD == 0 and data.startswith(_DESCRIPTOR_HEAD, at + RECORD):
            raise _error(
                path,
                f"XPT file holds more than one dataset (a second member at byte {at})",
                "give each dataset its own .xpt file",
            )
        at = data.find(_MEMBER_HEAD, at + 1)


def _frame(matrix: np.ndarray, variables: list[XportVariable]) -> pd.DataFrame:
    def column(variable: XportVariable) -> pd.Series:
        cells = matrix[:, variable.position : variable.position + variable.width]
        if variable.type == "Num":
            return pd.Series(from_ibm(cells), dtype="float64")
        return _text(cells)

    # numpy copies and Arrow kernels release the GIL: columns convert in parallel
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        converted = list(pool.map(column, variables))
    return pd.DataFrame({v.name: c for v, c in zip(variables, converted, strict=True)})


def _row_count(data: bytes, start: int, end: int, width: int) -> int:
    """Records between start and end: trailing all-blank records that fit inside the last
    80-byte block's padding are padding, not data."""
    size = end - start
    rows = size // width
    while rows > 0 and (rows - 1) * width > size - RECORD:
        last = data[start + (rows - 1) * width : start + rows * width]
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
        text = _latin1(cells)
    text = pc.ascii_rtrim(text, " ")
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    return pd.Series(pd.arrays.ArrowStringArray(text), dtype=TEXT)


def _latin1(cells: np.ndarray) -> pa.Array:
    """Latin-1 bytes are their own code points: widened to UCS-4 they are numpy text."""
    rows, width = cells.shape
    points = np.ascontiguousarray(cells, dtype="<u4")
    return pa.array(points.view(f"<U{width}").reshape(rows), pa.large_string())
