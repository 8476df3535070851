"""A dataset whose variables stand in another order than define.xml's OrderNumber gives;
reported once, at the first variable that has to move (order.moved)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.conformance.order import moved as out_of_order


@operation("define_order")
def define_order(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    ordered = sorted(
        (v for v in described.variables if v.order is not None and v.name in context.frame),
        key=lambda v: v.order or 0,
    )
    position = {v.name: rank for rank, v in enumerate(ordered)}
    actual = [n for n in context.frame.columns if n in position]
    moved = out_of_order(actual, position)
    if not moved:
        return []
    return [Issue(None, moved[0], f"out of define.xml's order: {', '.join(moved)}")]
