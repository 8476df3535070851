"""Records (meeting `when` and `when_empty`) where none of `variables` equals `equals`: a
serious adverse event with no seriousness criterion marked Y. The finding names `report`
(AESER, the value that asks for a criterion), or the first of `variables` when no `report` is
given."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.conditions import applies
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("any_flagged")
def any_flagged(
    context: Context,
    variables: list[str],
    equals: str,
    when: dict[str, Any] | None = None,
    report: str | None = None,
    when_empty: list[str] | None = None,
) -> list[Issue]:
    condition = applies(context, when, when_empty=when_empty)
    if condition is None:
        return []
    flagged = pd.Series(False, index=context.frame.index)
    for variable in variables:
        column = context.column(variable)
        if column is not None:
            flagged |= column.eq(equals)
    named = context.name(report or variables[0])
    return rows(condition & ~flagged, named, context.frame.get(named))
