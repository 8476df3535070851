"""When every variable of `when_present` has a value and every `when` variable equals its
value, the `then` variable must be populated (or equal `equals`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("requires")
def requires(
    context: Context,
    then: str,
    when: dict[str, Any] | None = None,
    when_present: list[str] | None = None,
    equals: Any = None,
) -> list[Issue]:
    condition = pd.Series(True, index=context.frame.index)
    for variable in when_present or []:
        column = context.column(variable)
        if column is None:
            return []
        condition &= populated(column)
    for variable, wanted in (when or {}).items():
        column = context.column(variable)
        if column is None:
            return []
        condition &= column.eq(wanted)
    target = context.column(then)
    if target is None:
        return rows(condition, context.name(then)) if condition.any() else []
    ok = populated(target) if equals is None else target.eq(equals)
    return rows(condition & ~ok, context.name(then), target)
