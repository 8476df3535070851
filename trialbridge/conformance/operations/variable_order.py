"""Standard variables in another order than the SDTMIG's; reported once, at the first variable
that has to move (order.moved); sponsor variables are ignored."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.conformance.order import moved as out_of_order


@operation("variable_order")
def variable_order(context: Context) -> list[Issue]:
    standard = context.standard_variables()
    if not standard:
        return []
    position = {v.name: v.order for v in standard}
    present = [n for n in context.frame.columns if n in position]
    moved = out_of_order(present, position)
    if not moved:
        return []
    return [Issue(None, moved[0], f"out of the SDTMIG order: {', '.join(moved)}")]
