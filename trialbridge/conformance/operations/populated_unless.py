"""`then` must have a value, except in records whose `variable` is empty or one of `values`
(RFSTDTC for every subject but screen failures and those not assigned: SDTMIG 3.2 coded them
SCRNFAIL / NOTASSGN in ARMCD, SDTMIG 3.4 leaves ARMCD null and says why in ARMNRS)."""

from __future__ import annotations

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("populated_unless")
def populated_unless(context: Context, then: str, variable: str, values: list[str]) -> list[Issue]:
    target, exempt = context.column(then), context.column(variable)
    if target is None or exempt is None:
        return []
    assigned = populated(exempt) & ~exempt.isin(values)
    return rows(assigned & ~populated(target), context.name(then), target)
