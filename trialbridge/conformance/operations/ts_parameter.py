"""TS has a record for the parameter `code` with a value (TSVAL) or a null flavour (TSVALNF)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("ts_parameter")
def ts_parameter(context: Context, code: str) -> list[Issue]:
    ts = context.datasets.get("TS")
    if ts is None or "TSPARMCD" not in ts.frame:
        return []
    records = ts.frame[ts.frame["TSPARMCD"] == code]
    valued = [c for c in ("TSVAL", "TSVALNF") if c in records]
    if records.empty or not records[valued].notna().any(axis=None):
        return [Issue(None, "TSPARMCD", code)]
    return []
