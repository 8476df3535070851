"""Date/time variables (--DTC, --STDTC, --ENDTC, RF*DTC...) whose value is not SDTM
ISO 8601: complete or right-truncated, or with unknown parts as a hyphen, and a real date and
time (2021-02-30 is not)."""

from __future__ import annotations

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import valid
from trialbridge.conformance.operations import operation


@operation("iso8601")
def iso8601(context: Context) -> list[Issue]:
    frame = context.frame
    found = []
    for name in (c for c in frame.columns if c.endswith("DTC")):
        bad = per_value(frame[name], _invalid)
        found += rows(bad, name, frame[name])
    return found


def _invalid(value: str) -> bool:
    return bool(value.strip()) and not valid(value)
