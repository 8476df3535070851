"""DM subjects (meeting `when_present`) with no record in `dataset` (a treated subject with
no EX record, a subject with no disposition)."""

from __future__ import annotations

from trialbridge.conformance.conditions import applies
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("subject_has_records")
def subject_has_records(
    context: Context, dataset: str, when_present: list[str] | None = None
) -> list[Issue]:
    condition = applies(context, when_present=when_present)
    if condition is None or "USUBJID" not in context.frame:
        return []
    target = context.datasets.get(dataset)
    known = set() if target is None else set(target.frame.get("USUBJID", []))
    subjects = context.frame["USUBJID"]
    return rows(condition & ~subjects.isin(known), "USUBJID", subjects)
