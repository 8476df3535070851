"""Pairs that should map one to one (--TESTCD and --TEST, ARMCD and ARM): each value of `a`
with more than one `b`, or the reverse."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("one_to_one")
def one_to_one(context: Context, a: str, b: str) -> list[Issue]:
    left, right = context.column(a), context.column(b)
    if left is None or right is None:
        return []
    first, second = context.name(a), context.name(b)
    pairs = context.frame[[first, second]].dropna()
    # counted over the distinct pairs (a million records hold a few dozen)
    distinct = pairs.drop_duplicates()
    many_b = distinct.groupby(first)[second].nunique()
    many_a = distinct.groupby(second)[first].nunique()
    bad = pairs[first].isin(many_b.index[many_b > 1]) | pairs[second].isin(many_a.index[many_a > 1])
    bad = bad.reindex(context.frame.index, fill_value=False)
    return rows(bad, context.name(a), left)
