"""Records (meeting `when`) whose `variable` differs from the subject's DM value of
`reference` (the same variable unless given): STUDYID in every dataset, DSSTDTC of a death
against DTHDTC. Records without a subject DM knows (trial design datasets, a USUBJID DM lacks)
must hold one of DM's values. Text is compared as written; a value on one side only is a
difference (a death date in DS that DM lacks, a record without STUDYID), none on either side
is not."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import applies, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("same_as_dm")
def same_as_dm(
    context: Context,
    variable: str,
    reference: str | None = None,
    when: dict[str, Any] | None = None,
) -> list[Issue]:
    values = context.column(variable)
    wanted = reference or context.name(variable)
    dm = context.datasets.get("DM")
    condition = applies(context, when)
    if values is None or condition is None or dm is None or wanted not in dm.frame:
        return []
    every = dm.frame[wanted]
    known = set(every[populated(every)])
    text = values.astype("object")
    # one of DM's values at least (when DM has any)
    differs = ~(populated(values) & text.isin(known)) & bool(known)
    per_subject = context.by_subject(wanted)
    if per_subject is not None and "USUBJID" in context.frame:
        subjects = context.frame["USUBJID"]
        known_subject = subjects.isin(per_subject.index)
        theirs = subjects.map(per_subject).astype("object")
        mine, dms = populated(values), populated(theirs.fillna(""))
        own = (mine | dms) & ~(mine & dms & text.eq(theirs))
        differs = differs.where(~known_subject, own)
    return rows(condition & differs.astype(bool), context.name(variable), values)
