"""`then` must have a value, except in records whose `variable` is one of `values` (RFSTDTC
for every subject but screen failures and those not assigned)."""

from __future__ import annotations

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("populated_unless")
def populated_unless(context: Context, then: str, variable: str, values: list[str]) -> list[Issue]:
    target, exempt = context.column(then), context.column(variable)
    if target is None or exempt is None:
        return []
    return rows(~exempt.isin(values) & ~populated(target), context.name(then), target)
