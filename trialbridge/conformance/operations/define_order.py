"""A dataset whose variables stand in another order than define.xml's OrderNumber gives;
reported once, at the first variable out of place."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_order")
def define_order(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    ordered = sorted(
        (v for v in described.variables if v.order is not None and v.name in context.frame),
        key=lambda v: v.order or 0,
    )
    expected = [v.name for v in ordered]
    actual = [n for n in context.frame.columns if n in expected]
    for want, have in zip(expected, actual, strict=True):
        if want != have:
            return [Issue(None, have, f"expected {want} here")]
    return []
