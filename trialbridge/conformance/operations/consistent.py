"""Within each value of `by` (--TESTCD), `variable` (--STRESU) takes one value only."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("consistent_within")
def consistent_within(context: Context, variable: str, by: list[str]) -> list[Issue]:
    names = [context.name(v) for v in by]
    target = context.column(variable)
    if target is None or not all(n in context.frame for n in names):
        return []
    spread = context.frame.groupby(names, dropna=False)[context.name(variable)].transform("nunique")
    return rows(spread > 1, context.name(variable), target)
