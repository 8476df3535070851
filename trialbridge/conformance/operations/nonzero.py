"""Study days equal to 0: SDTM study days skip day 0 (day -1 is followed by day 1)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("nonzero")
def nonzero(context: Context, variable: str) -> list[Issue]:
    values = context.column(variable)
    if values is None:
        return []
    return rows(pd.to_numeric(values, errors="coerce").eq(0), context.name(variable), values)
