"""Records whose `low` number is above their `high` number (--STNRLO > --STNRHI, --STDY >
--ENDY)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("numeric_order")
def numeric_order(context: Context, low: str, high: str) -> list[Issue]:
    a, b = context.column(low), context.column(high)
    if a is None or b is None:
        return []
    above = pd.to_numeric(a, errors="coerce").gt(pd.to_numeric(b, errors="coerce"))
    return rows(above, context.name(low), a)
