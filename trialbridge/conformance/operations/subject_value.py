"""DM records whose `variable` is not `equals` although the subject has a record in `dataset`
meeting `when` (a subject with a fatal adverse event whom DM does not record as dead). The
finding is the DM record: the value to correct is there."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import applies
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.build import domain_of


@operation("subject_value")
def subject_value(
    context: Context, dataset: str, variable: str, equals: str, when: dict[str, Any]
) -> list[Issue]:
    other = context.datasets.get(dataset)
    if other is None or "USUBJID" not in other.frame or "USUBJID" not in context.frame:
        return []
    theirs = Context(other, domain_of(other), context.datasets, context.terminology)
    condition = applies(theirs, when)
    if condition is None:
        return []
    subjects = other.frame["USUBJID"][condition.to_numpy(dtype=bool)].dropna().unique()
    concerned = context.frame["USUBJID"].isin(subjects)
    values = context.frame.get(variable)
    if values is None:
        return rows(concerned, variable)
    return rows(concerned & values.ne(equals), variable, values)
