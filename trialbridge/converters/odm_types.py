"""Does each value fit its ODM 1.3.2 DataType, Length and CodeList? Checked per distinct
value, so a million ItemData cost a few hundred regex matches."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.converters.odm_metadata import ItemDef

_TZ = r"(Z|[+-]\d{2}:\d{2})?"
_DATE = r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
_TIME = r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?" + _TZ
_PARTIAL_DATE = r"(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2}))?)?"
_PARTIAL_TIME = r"([01]\d|2[0-3])(:[0-5]\d(:[0-5]\d(\.\d+)?)?)?" + _TZ
_DECIMAL = r"[+-]?(\d+(\.\d*)?|\.\d+)"

PATTERNS: dict[str, str] = {
    "integer": r"[+-]?\d+",
    "float": _DECIMAL + r"([eE][+-]?\d+)?",
    "double": _DECIMAL + r"([eE][+-]?\d+)?|INF|-INF|NaN",
    "boolean": r"true|false|1|0",
    "date": _DATE,
    "time": _TIME,
    "datetime": _DATE + "T" + _TIME,
    "partialDate": _PARTIAL_DATE,
    "partialTime": _PARTIAL_TIME,
    "partialDatetime": _PARTIAL_DATE + "(T" + _PARTIAL_TIME + ")?",
    "hexBinary": r"([0-9a-fA-F]{2})*",
    "hexFloat": r"([0-9a-fA-F]{2})*",
}
_COMPILED = {kind: re.compile(rf"^(?:{p})$") for kind, p in PATTERNS.items()}
_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
_MEASURED = ("text", "string", "integer")


def misfits(
    values: pa.Array | pa.ChunkedArray, item: ItemDef, codes: list[str] | None
) -> list[tuple[str, np.ndarray]]:
    """The values that do not fit the item, grouped by why: (reason, positions), each
    reason once, positions in order."""
    distinct = pc.unique(values)  # not of values.drop_null(): that copies the column
    reasons: dict[str, list[str]] = {}
    for value in distinct.to_pylist():
        why = _why(value, item, codes) if value is not None else ""
        if why:
            reasons.setdefault(why, []).append(value)
    found = []
    for why, bad in reasons.items():
        hit = pc.is_in(values, value_set=pa.array(bad, pa.string()))
        found.append((why, pc.indices_nonzero(pc.fill_null(hit, False)).to_numpy()))
    return found


def first_misfit(
    values: pa.Array | pa.ChunkedArray, item: ItemDef, codes: list[str] | None
) -> tuple[int, str]:
    """Index of the first value that does not fit the item (-1 if all do), and why."""
    found = misfits(values, item, codes)
    if not found:
        return -1, ""
    why, positions = min(found, key=lambda reason: int(reason[1][0]))
    return int(positions[0]), why


def _why(value: str, item: ItemDef, codes: list[str] | None) -> str:
    pattern = _COMPILED.get(item.data_type)
    if pattern is not None:
        match = pattern.match(value)
        if match is None or not _real_date(match):
            return f"is not a valid {item.data_type}"
    if item.length is not None and item.data_type in _MEASURED and len(value) > item.length:
        return f"is longer than the item's Length {item.length}"
    if codes is not None and value not in codes:
        shown = ", ".join(codes[:10]) + (", ..." if len(codes) > 10 else "")
        return f"is not in its CodeList {item.codelist} ({shown})"
    return ""


def _real_date(match: re.Match[str]) -> bool:
    """A date's month and day exist on the calendar (29 February only in leap years)."""
    parts = match.groupdict()
    if not parts.get("m"):
        return True
    month = int(parts["m"])
    if not 1 <= month <= 12:
        return False
    if not parts.get("d"):
        return True
    day = int(parts["d"])
    if month == 2 and day == 29:
        year = int(parts["y"])
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= _DAYS[month - 1]
