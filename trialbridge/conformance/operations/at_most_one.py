"""At most one record flagged (`flag` = Y) per `by` group (one baseline per subject and test,
position, location...); variables of `by` the dataset lacks are left out of the grouping."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("at_most_one_flagged")
def at_most_one_flagged(context: Context, flag: str, by: list[str]) -> list[Issue]:
    marked = context.column(flag)
    names = [context.name(v) for v in by if context.name(v) in context.frame]
    if marked is None or not names:
        return []
    flagged = marked.eq("Y")
    # only flagged records can be repeated flags: group those alone
    chosen = flagged.fillna(False).to_numpy(dtype=bool)
    keys = [context.frame[n][chosen] for n in names]
    counts = flagged[chosen].groupby(keys, dropna=False).transform("sum")
    repeated = np.zeros(len(flagged), dtype=bool)
    repeated[chosen] = (counts > 1).to_numpy(dtype=bool)
    return rows(flagged & pd.Series(repeated, index=flagged.index), context.name(flag), marked)
