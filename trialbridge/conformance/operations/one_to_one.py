"""Pairs that should map one to one (--TESTCD and --TEST, ARMCD and ARM): each value of `a`
with more than one `b`, or the reverse."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("one_to_one")
def one_to_one(context: Context, a: str, b: str) -> list[Issue]:
    left, right = context.column(a), context.column(b)
    if left is None or right is None:
        return []
    first, second = context.name(a), context.name(b)
    both = (left.notna() & right.notna()).to_numpy(dtype=bool)
    pairs = context.frame[[first, second]][both]
    # counted over the distinct pairs (a million records hold a few dozen)
    distinct = pairs.drop_duplicates()
    many_b = distinct.groupby(first)[second].nunique()
    many_a = distinct.groupby(second)[first].nunique()
    found = pairs[first].isin(many_b.index[many_b > 1]) | pairs[second].isin(
        many_a.index[many_a > 1]
    )
    bad = np.zeros(len(both), dtype=bool)
    bad[both] = found.to_numpy(dtype=bool)  # by position: no index label is relied on
    return rows(pd.Series(bad, index=left.index), first, left)
