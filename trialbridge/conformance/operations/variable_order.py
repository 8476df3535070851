"""Standard variables in another order than the SDTMIG's; reported once, at the first one
out of place (sponsor variables are ignored)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("variable_order")
def variable_order(context: Context) -> list[Issue]:
    standard = context.standard_variables()
    if not standard:
        return []
    position = {v.name: v.order for v in standard}
    present = [n for n in context.frame.columns if n in position]
    expected = sorted(present, key=position.__getitem__)
    for want, have in zip(expected, present, strict=True):
        if want != have:
            return [Issue(None, have, f"expected {want} here")]
    return []
