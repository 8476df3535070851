"""Text values longer than `limit` bytes (all character variables, or the given ones)."""

from __future__ import annotations

from trialbridge.conformance.conditions import byte_lengths
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("max_length")
def max_length(context: Context, limit: str, variables: list[str] | None = None) -> list[Issue]:
    frame, most = context.frame, int(limit)
    names = [context.name(v) for v in variables] if variables else list(frame.columns)
    found = []
    for name in names:
        if name not in frame or frame[name].dtype.kind in "fiu":
            continue
        found += rows(byte_lengths(frame[name]).gt(most), name, frame[name])
    return found
