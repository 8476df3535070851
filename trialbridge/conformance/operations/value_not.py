"""Records (meeting conditions.condition: `when`, `when_present`, `unless`, ...) where
`variable` holds a value it must not: one of `values` (--TESTCD OTHER), the value of the
variable `other` (--SCAT repeating --CAT), or, with neither given, any value at all (ELEMENT
for an unplanned element, --OCCUR for an event that was not pre-specified)."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import condition, holds, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("value_not")
def value_not(
    context: Context,
    variable: str,
    values: list[Any] | None = None,
    other: str | None = None,
    **conditions: Any,
) -> list[Issue]:
    column = context.column(variable)
    met = condition(context, **conditions)
    if column is None or met is None:
        return []
    bad = met & populated(column)
    if values is not None:
        bad &= holds(column, values)
    if other is not None:
        compared = context.column(other)
        if compared is None:
            return []
        same = column.astype("str").str.strip().eq(compared.astype("str").str.strip())
        bad &= populated(compared) & same.fillna(False)
    return rows(bad, context.name(variable), column)
