"""A TS parameter (`code`) whose values do not match `pattern` or, with `iso8601`, are not a
valid SDTM ISO 8601 date (a real calendar date): SSTDTC must be a complete date, for
example."""

from __future__ import annotations

import re

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import valid
from trialbridge.conformance.operations import operation


@operation("ts_value")
def ts_value(
    context: Context, code: str, pattern: str | None = None, iso8601: bool = False
) -> list[Issue]:
    frame = context.frame
    if "TSPARMCD" not in frame or "TSVAL" not in frame:
        return []
    compiled = re.compile(pattern) if pattern is not None else None
    values = frame["TSVAL"]

    def wrong(value: str) -> bool:
        return bool(
            (compiled is not None and not compiled.fullmatch(value))
            or (iso8601 and not valid(value))
        )

    chosen = frame["TSPARMCD"].eq(code) & values.notna()
    return rows(chosen & per_value(values, wrong), "TSVAL", values)
