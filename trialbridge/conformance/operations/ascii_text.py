"""Text values with characters outside printable ASCII (FDA: ASCII only in XPT)."""

from __future__ import annotations

import re

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation

_PRINTABLE = re.compile(r"[\x20-\x7e]*")


@operation("ascii")
def ascii_text(context: Context) -> list[Issue]:
    frame = context.frame
    found = []
    for name in frame.columns:
        if frame[name].dtype.kind in "fiu":
            continue
        found += rows(per_value(frame[name], _not_ascii), name, frame[name])
    return found


def _not_ascii(value: str) -> bool:
    return _PRINTABLE.fullmatch(value) is None
