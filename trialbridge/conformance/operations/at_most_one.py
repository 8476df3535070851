"""At most one record flagged (`flag` = Y) per `by` group (one baseline per subject and test,
position, location...); variables of `by` the dataset lacks are left out of the grouping."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("at_most_one_flagged")
def at_most_one_flagged(context: Context, flag: str, by: list[str]) -> list[Issue]:
    marked = context.column(flag)
    names = [context.name(v) for v in by if context.name(v) in context.frame]
    if marked is None or not names:
        return []
    flagged = marked.eq("Y")
    counts = flagged.groupby([context.frame[n] for n in names], dropna=False).transform("sum")
    return rows(flagged & (counts > 1), context.name(flag), marked)
