"""Values that are not ISO 8601 durations (P2Y, P1DT12H, PT30M, P0.5D, P6W): the durations,
elapsed times, intervals and offsets of SDTM (--DUR, --ELTM, --EVLINT, --STINT, --ENINT,
TDSTOFF, TS AGEMIN ...). `variables` names them (default: every variable ending in DUR,
ELTM, EVLINT, STINT, ENINT or PAI; TDSTOFF, which may also be 0, is named on its own);
`when` picks records (TS parameters); `negative` accepts a leading minus (-PT15M: 15 minutes
before the reference); `zero` accepts a plain 0 (TDSTOFF of an element that starts at the
anchor); `interval` accepts an interval of two dates, or of a date and a duration
(2021-01-05/2021-01-12, P7D/2021-01-12)."""

from __future__ import annotations

import re
from typing import Any

from trialbridge.conformance.conditions import applies, per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import valid
from trialbridge.conformance.operations import operation

_N = r"\d+(?:[.,]\d+)?"
DURATION = re.compile(
    rf"P(?=\d)(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?"
    rf"|P(?:{_N}Y)?(?:{_N}M)?(?:{_N}D)?T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?"
    rf"|P{_N}W"
)
SUFFIXES = ("DUR", "ELTM", "EVLINT", "STINT", "ENINT", "PAI")


@operation("iso8601_duration")
def iso8601_duration(
    context: Context,
    variables: list[str] | None = None,
    when: dict[str, Any] | None = None,
    negative: bool = False,
    zero: bool = False,
    interval: bool = False,
) -> list[Issue]:
    condition = applies(context, when)
    if condition is None:
        return []
    frame = context.frame
    if variables is not None:
        names = [context.name(v) for v in variables]
    else:
        names = [c for c in frame.columns if c.endswith(SUFFIXES)]

    def wrong(value: str) -> bool:
        text = value.strip()
        if not text or (zero and text == "0"):
            return False
        if _duration(text, negative):
            return False
        return not (interval and _interval(text))

    found = []
    for name in names:
        if name in frame and frame[name].dtype.kind not in "biufc":
            found += rows(condition & per_value(frame[name], wrong), name, frame[name])
    return found


def _duration(text: str, negative: bool) -> bool:
    if negative and text.startswith("-"):
        text = text[1:]
    return DURATION.fullmatch(text) is not None


def _interval(text: str) -> bool:
    parts = text.split("/")
    if len(parts) != 2 or not all(parts):
        return False
    dates = [valid(p) for p in parts]
    durations = [_duration(p, False) for p in parts]
    return all(d or p for d, p in zip(dates, durations, strict=True)) and any(dates)
