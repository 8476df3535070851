"""A TS parameter (`code`) whose values do not match `pattern`: SSTDTC must be a complete
date, for example."""

from __future__ import annotations

import re

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("ts_value")
def ts_value(context: Context, code: str, pattern: str) -> list[Issue]:
    frame = context.frame
    if "TSPARMCD" not in frame or "TSVAL" not in frame:
        return []
    compiled = re.compile(pattern)
    values = frame["TSVAL"]
    fits = values.map(lambda v: bool(compiled.fullmatch(str(v))), na_action="ignore")
    chosen = frame["TSPARMCD"].eq(code) & values.notna()
    return rows(chosen & ~fits.fillna(True).astype(bool), "TSVAL", values)
