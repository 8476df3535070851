"""Records whose USUBJID is not a subject in DM."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("subject_in_dm")
def subject_in_dm(context: Context) -> list[Issue]:
    dm = context.datasets.get("DM")
    if dm is None or "USUBJID" not in dm.frame or "USUBJID" not in context.frame:
        return []
    if context.dataset.name == "DM":
        return []
    known = set(dm.frame["USUBJID"].dropna())
    usubjid = context.frame["USUBJID"]
    return rows(usubjid.notna() & ~usubjid.isin(known), "USUBJID", usubjid)
