"""Records (meeting `when`) whose subject's DM `variable` is not `equals` (a fatal adverse
event for a subject DM does not record as dead)."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import applies
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("subject_value")
def subject_value(
    context: Context, variable: str, equals: str, when: dict[str, Any] | None = None
) -> list[Issue]:
    dm = context.datasets.get("DM")
    condition = applies(context, when)
    if dm is None or "USUBJID" not in dm.frame or condition is None:
        return []
    if "USUBJID" not in context.frame:
        return []
    per_subject = context.by_subject(variable)
    if per_subject is None:
        return rows(condition, variable)
    theirs = context.frame["USUBJID"].map(per_subject)
    return rows(condition & theirs.ne(equals), variable, theirs)
