"""Numbers of `variable` below `minimum` (or equal to it, when `strict`)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("at_least")
def at_least(context: Context, variable: str, minimum: str, strict: str = "no") -> list[Issue]:
    values = context.column(variable)
    if values is None:
        return []
    numbers = pd.to_numeric(values, errors="coerce")
    low = float(minimum)
    bad = numbers.le(low) if strict == "yes" else numbers.lt(low)
    return rows(bad, context.name(variable), values)
