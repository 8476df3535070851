"""Records whose `start` is after their `end` (ISO 8601 text compared on the precision
both have: 2021-06 is not after 2021-06-15)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("date_order")
def date_order(context: Context, start: str, end: str) -> list[Issue]:
    first, last = context.column(start), context.column(end)
    if first is None or last is None:
        return []
    both = first.notna() & last.notna()
    a = first.where(both, "").astype("str").str[:19]
    b = last.where(both, "").astype("str").str[:19]
    common = pd.concat([a.str.len(), b.str.len()], axis=1).min(axis=1)
    after = pd.Series(
        [x[:n] > y[:n] for x, y, n in zip(a, b, common, strict=True)], index=first.index
    )
    return rows(after & both, context.name(start), first)
