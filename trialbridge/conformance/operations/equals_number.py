"""Records whose `variable` is the number `value` (AGE 0): a value that is allowed but
suspicious, reported apart from the values that are wrong."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("equals_number")
def equals_number(context: Context, variable: str, value: float) -> list[Issue]:
    values = context.column(variable)
    if values is None:
        return []
    return rows(
        pd.to_numeric(values, errors="coerce").eq(float(value)), context.name(variable), values
    )
