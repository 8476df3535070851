"""Record dates that fall before (`relation: before`) or after (`relation: after`) the
subject's DM date `reference` on the precision both have: an adverse event before birth, an
exposure after the last treatment date."""

from __future__ import annotations

from typing import Literal

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import later
from trialbridge.conformance.operations import operation


@operation("dm_date_order")
def dm_date_order(
    context: Context, date: str, reference: str, relation: Literal["before", "after"]
) -> list[Issue]:
    values = context.column(date)
    dm = context.datasets.get("DM")
    if values is None or dm is None or reference not in dm.frame or "USUBJID" not in context.frame:
        return []
    per_subject = dm.frame.drop_duplicates("USUBJID").set_index("USUBJID")[reference]
    theirs = context.frame["USUBJID"].map(per_subject)
    wrong = later(theirs, values) if relation == "before" else later(values, theirs)
    return rows(wrong, context.name(date), values)
