"""Records missing a value in any of `variables` (only where the variable exists)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("not_null")
def not_null(context: Context, variables: list[str]) -> list[Issue]:
    found = []
    for variable in variables:
        column = context.column(variable)
        if column is not None:
            blank = column.isna() | column.astype("str").str.strip().eq("")
            found += rows(blank, context.name(variable))
    return found
