"""Date/time variables (--DTC, --STDTC, --ENDTC, RF*DTC...) whose value is not SDTM
ISO 8601: complete or right-truncated, or with unknown parts as a hyphen."""

from __future__ import annotations

import re

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation

_DTC = re.compile(
    r"^(\d{4}|-)(-(\d{2}|-)(-(\d{2}|-)(T(\d{2}|-)(:(\d{2}|-)(:\d{2}(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@operation("iso8601")
def iso8601(context: Context) -> list[Issue]:
    frame = context.frame
    found = []
    for name in (c for c in frame.columns if c.endswith("DTC")):
        bad = per_value(frame[name], _invalid)
        found += rows(bad, name, frame[name])
    return found


def _invalid(value: str) -> bool:
    return bool(value.strip()) and not (_DTC.match(value) and _in_range(value))


def _in_range(value: str) -> bool:
    month, day, hour, minute = value[5:7], value[8:10], value[11:13], value[14:16]
    checks = [(month, 1, 12), (day, 1, 31), (hour, 0, 23), (minute, 0, 59)]
    return all(not part.isdigit() or low <= int(part) <= high for part, low, high in checks)
