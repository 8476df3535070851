"""Within each value of `by` (--TESTCD), and of each `also_by` variable the dataset has (--CAT,
--SPEC, --METHOD...), `variable` (--STRESU) takes one value only; every record of a group that
takes more is reported, those missing the value too. Records matching `unless` (--STAT NOT
DONE: no result, so no unit) are left out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("consistent_within")
def consistent_within(
    context: Context,
    variable: str,
    by: list[str],
    also_by: list[str] | None = None,
    unless: dict[str, Any] | None = None,
) -> list[Issue]:
    names = [context.name(v) for v in by]
    target = context.column(variable)
    if target is None or not all(n in context.frame for n in names):
        return []
    names += [n for n in (context.name(v) for v in also_by or []) if n in context.frame]
    kept = np.ones(len(context.frame), dtype=bool)
    for name, values in (unless or {}).items():
        column = context.column(name)
        if column is not None:
            kept &= ~column.isin(values if isinstance(values, list) else [values]).to_numpy()
    frame = context.frame[kept]
    spread = np.zeros(len(kept), dtype=bool)
    groups = frame.groupby(names, dropna=False)[context.name(variable)]
    spread[kept] = (groups.transform("nunique") > 1).to_numpy(dtype=bool)
    return rows(pd.Series(spread, index=context.frame.index), context.name(variable), target)
