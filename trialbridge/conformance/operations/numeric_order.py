"""Records whose `low` number is above their `high` number (--STNRLO > --STNRHI, --STDY >
--ENDY), or with `flag: equal`, equal to it (a normal range of one value)."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("numeric_order")
def numeric_order(
    context: Context, low: str, high: str, flag: Literal["above", "equal"] = "above"
) -> list[Issue]:
    a, b = context.column(low), context.column(high)
    if a is None or b is None:
        return []
    first, second = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    found = first.gt(second) if flag == "above" else first.eq(second)
    return rows(found, context.name(low), a)
