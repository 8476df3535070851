"""SAS XPORT v5 (the FDA's transport format) written from columns: each chunk of records is
one uint8 matrix, text columns padded by Arrow compute and copied in as blocks, numbers
converted to IBM floats for the whole column at once. The header bytes follow the layout
pyreadstat writes, so the two writers' files can be compared byte for byte."""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.sdtm.ibm import to_ibm

RECORD = 80
CHUNK_ROWS = 1 << 16
IN_FLIGHT = 4
_HEAD = "HEADER RECORD*******{kind} HEADER RECORD!!!!!!!{digits}  "
_LIBRARY = _HEAD.format(kind="LIBRARY", digits="0" * 30)
_MEMBER = _HEAD.format(kind="MEMBER ", digits="000000000000000001600000000140")
_DESCRIPTOR = _HEAD.format(kind="DSCRPTR", digits="0" * 30)
_OBS = _HEAD.format(kind="OBS    ", digits="0" * 30)
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")


@dataclass(frozen=True)
class XportColumn:
    name: str
    label: str
    type: str  # "Char" or "Num"
    width: int  # bytes in each record: the longest text (at least 1), 8 for numbers


def write_xport(
    handle: BinaryIO,
    name: str,
    label: str,
    columns: list[XportColumn],
    frame: pd.DataFrame,
    created: datetime,
) -> None:
    """One dataset as an XPT v5 file. Values must already fit (xpt.check): ASCII text no
    longer than its column's width, numbers in the IBM range."""
    handle.write(_header(name, label, columns, created))
    width = sum(c.width for c in columns)
    written = 0
    for block in _blocks(frame, columns, width):
        handle.write(memoryview(block).cast("B"))  # the matrix's own bytes, not a copy
        written += block.nbytes
    handle.write(b" " * (-written % RECORD))


def _blocks(frame: pd.DataFrame, columns: list[XportColumn], width: int) -> Iterator[np.ndarray]:
    """The record chunks in order, built two at a time (Arrow and numpy release the GIL),
    with at most IN_FLIGHT chunks held at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: deque[Future[np.ndarray]] = deque()
        for start in range(0, len(frame), CHUNK_ROWS):
            chunk = frame.iloc[start : start + CHUNK_ROWS]
            pending.append(pool.submit(_records, chunk, columns, width))
            if len(pending) >= IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _header(name: str, label: str, columns: list[XportColumn], created: datetime) -> bytes:
    stamp = created.strftime("%d%b%y:%H:%M:%S").upper()
    lines = [
        _LIBRARY,
        f"{'SAS':8}{'SAS':8}{'SASLIB':8}{'6.06':8}{'bsd4.2':8}{'':24}{stamp}",
        f"{stamp}{'':64}",
        _MEMBER,
        _DESCRIPTOR,
        f"{'SAS':8}{name:8}{'SASDATA':8}{'6.06':8}{'bsd4.2':8}{'':24}{stamp}",
        f"{stamp}{'':16}{label:40}{'':8}",
        _HEAD.format(kind="NAMESTR", digits=f"000000{len(columns):04d}{'0' * 20}"),
    ]
    head = "".join(lines).encode("ascii")
    names = b"".join(_namestr(c, number, position) for number, position, c in _placed(columns))
    return head + names + b" " * (-len(names) % RECORD) + _OBS.encode("ascii")


def _placed(columns: list[XportColumn]) -> Iterator[tuple[int, int, XportColumn]]:
    position = 0
    for number, column in enumerate(columns, 1):
        yield number, position, column
        position += column.width


def _namestr(column: XportColumn, number: int, position: int) -> bytes:
    numeric = column.type == "Num"
    return _NAMESTR.pack(
        1 if numeric else 2,
        0,
        column.width,
        number,
        column.name.encode("ascii").ljust(8),
        column.label.encode("ascii").ljust(40),
        b" " * 8,
        0,
        0,
        1 if numeric else 0,
        b"\0\0",
        b" " * 8,
        0,
        0,
        position,
        b"\0" * 52,
    )


def _records(frame: pd.DataFrame, columns: list[XportColumn], width: int) -> np.ndarray:
    rows = len(frame)
    out = np.empty((rows, width), dtype=np.uint8)
    at = 0
    for column in columns:
        values = frame[column.name]
        end = at + column.width
        if column.type == "Num":
            ibm = to_ibm(values.to_numpy(dtype=np.float64, na_value=np.nan))
            out[:, at:end] = ibm.view(np.uint8).reshape(rows, 8)
        else:
            out[:, at:end] = _padded(values, column.width)
        at = end
    return out


def _padded(values: pd.Series, width: int) -> np.ndarray:
    """(rows, width) bytes: each text left-aligned and padded with blanks, missing as blanks."""
    text = pa.array(values, type=pa.large_string(), from_pandas=True)
    padded = pc.ascii_rpad(pc.fill_null(text, ""), width=width, padding=" ")
    if isinstance(padded, pa.ChunkedArray):
        padded = padded.combine_chunks()
    offsets = np.frombuffer(padded.buffers()[1], dtype=np.int64)
    first = int(offsets[padded.offset])
    data = np.frombuffer(padded.buffers()[2], dtype=np.uint8)
    return data[first : first + len(values) * width].reshape(len(values), width)
