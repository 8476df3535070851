"""Text values with characters outside printable ASCII (FDA: ASCII only in XPT)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("ascii")
def ascii_text(context: Context) -> list[Issue]:
    frame = context.frame
    found = []
    for name in frame.columns:
        if frame[name].dtype.kind in "fiu":
            continue
        text = frame[name].astype("str").where(frame[name].notna(), "")
        found += rows(~text.str.fullmatch(r"[\x20-\x7e]*"), name, frame[name])
    return found
