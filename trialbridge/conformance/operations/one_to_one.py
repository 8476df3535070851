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
    pairs = context.frame[[context.name(a), context.name(b)]].dropna()
    many_b = pairs.groupby(context.name(a))[context.name(b)].transform("nunique") > 1
    many_a = pairs.groupby(context.name(b))[context.name(a)].transform("nunique") > 1
    bad = (many_a | many_b).reindex(context.frame.index, fill_value=False)
    return rows(bad, context.name(a), left)
