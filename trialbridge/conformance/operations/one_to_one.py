"""Pairs that should map one to one (--TESTCD and --TEST, ARMCD and ARM): each value of `a`
with more than one `b`, or the reverse. Records missing either are left out, unless
`missing_is_a_value`: then a missing value beside a populated one is a value of its own
(Headache coded once and once not is two codes for one term, as CORE reads --DECOD and
--PTCD), though never a key (terms left uncoded do not share a code); records with neither
are left out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("one_to_one")
def one_to_one(context: Context, a: str, b: str, missing_is_a_value: bool = False) -> list[Issue]:
    left, right = context.column(a), context.column(b)
    if left is None or right is None:
        return []
    first, second = context.name(a), context.name(b)
    both = (
        left.notna() | right.notna() if missing_is_a_value else left.notna() & right.notna()
    ).to_numpy(dtype=bool)
    pairs = context.frame[[first, second]][both].astype("object").fillna("")
    # counted over the distinct pairs (a million records hold a few dozen); a missing value
    # is never a key itself: the terms sharing "no code" are not one code's many terms
    distinct = pairs.drop_duplicates()
    many_b = distinct[distinct[first].ne("")].groupby(first)[second].nunique()
    many_a = distinct[distinct[second].ne("")].groupby(second)[first].nunique()
    found = (pairs[first].isin(many_b.index[many_b > 1]) & pairs[first].ne("")) | (
        pairs[second].isin(many_a.index[many_a > 1]) & pairs[second].ne("")
    )
    bad = np.zeros(len(both), dtype=bool)
    bad[both] = found.to_numpy(dtype=bool)  # by position: no index label is relied on
    return rows(pd.Series(bad, index=left.index), first, left)
