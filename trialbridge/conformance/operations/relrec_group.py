"""RELREC records alone in their relationship: a RELID of a subject must relate at least two
records (or, at dataset level, two datasets)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("relrec_group")
def relrec_group(context: Context) -> list[Issue]:
    frame = context.frame
    if "RELID" not in frame or "USUBJID" not in frame:
        return []
    # as text whatever the file stored (a USUBJID written as numbers groups all the same)
    groups = frame[["USUBJID", "RELID"]].astype("string").fillna("")
    sizes = groups.groupby(["USUBJID", "RELID"])["RELID"].transform("size")
    return rows(sizes.lt(2), "RELID", frame["RELID"])
