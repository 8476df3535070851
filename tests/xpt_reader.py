"""A small, independent SAS XPORT v5 reader for tests, written from the format description
(80-byte records, 140-byte NAMESTR records, IBM hexadecimal floats). It shares no code with
pyreadstat, so agreement between the two is evidence that a file is right."""

from __future__ import annotations

import math
import struct
from pathlib import Path

RECORD = 80
NAMESTR = 140
_MISSING_FIRST_BYTES = {0x2E, 0x5F, *range(0x41, 0x5B)}


def ibm_to_float(raw: bytes) -> float:
    """IBM double: sign bit, 7-bit excess-64 base-16 exponent, 56-bit fraction."""
    if raw[1:] == bytes(7) and raw[0] in _MISSING_FIRST_BYTES:
        return math.nan
    sign = -1.0 if raw[0] & 0x80 else 1.0
    exponent = (raw[0] & 0x7F) - 64
    fraction = int.from_bytes(raw[1:], "big") / 2.0**56
    return sign * fraction * 16.0**exponent


def read(path: Path) -> tuple[str, str, list[dict], list[list]]:
    """(dataset name, dataset label, variables, rows); text right-trimmed, '' kept as ''."""
    data = path.read_bytes()
    records = [data[i : i + RECORD] for i in range(0, len(data), RECORD)]
    assert records[0].startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")
    assert records[3].startswith(b"HEADER RECORD*******MEMBER  HEADER RECORD")
    name = records[5][8:16].decode("ascii").strip()
    label = records[6][32:72].decode("ascii").strip()
    assert records[7].startswith(b"HEADER RECORD*******NAMESTR HEADER RECORD")
    count = int(records[7][54:58])
    start = 8 * RECORD
    variables = []
    for i in range(count):
        raw = data[start + i * NAMESTR : start + (i + 1) * NAMESTR]
        ntype, _, length, _ = struct.unpack(">hhhh", raw[:8])
        (position,) = struct.unpack(">i", raw[84:88])
        variables.append(
            {
                "name": raw[8:16].decode("ascii").strip(),
                "label": raw[16:56].decode("ascii").strip(),
                "numeric": ntype == 1,
                "length": length,
                "position": position,
            }
        )
    namestr_end = start + math.ceil(count * NAMESTR / RECORD) * RECORD
    assert data[namestr_end:].startswith(b"HEADER RECORD*******OBS     HEADER RECORD")
    body = data[namestr_end + RECORD :]
    width = sum(v["length"] for v in variables)
    n = len(body) // width
    while (
        n
        and body[(n - 1) * width : n * width] == b" " * width
        and (n - 1) * width >= len(body) - RECORD
    ):
        n -= 1  # trailing blanks that only pad the last 80-byte record
    rows = []
    for r in range(n):
        row = body[r * width : (r + 1) * width]
        values = []
        for v in variables:
            cell = row[v["position"] : v["position"] + v["length"]]
            if v["numeric"]:
                values.append(ibm_to_float(cell.ljust(8, b"\0")))
            else:
                values.append(cell.decode("ascii").rstrip())
        rows.append(values)
    return name, label, variables, rows
