"""Numeric results with no unit: `unit` must be populated where `result` is a number."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import each_value, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("unit_when_numeric")
def unit_when_numeric(context: Context, result: str, unit: str) -> list[Issue]:
    values = context.column(result)
    if values is None:
        return []
    units = context.column(unit)
    numeric = each_value(values, _numeric)
    if units is None:
        return rows(numeric, context.name(unit), values)
    return rows(numeric & ~populated(units), context.name(unit), values)


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").notna()
