"""Records (meeting `when`) where none of `variables` equals `equals`: a serious adverse event
with no seriousness criterion marked Y."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.conditions import applies
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("any_flagged")
def any_flagged(
    context: Context, variables: list[str], equals: str, when: dict[str, Any] | None = None
) -> list[Issue]:
    condition = applies(context, when)
    if condition is None:
        return []
    flagged = pd.Series(False, index=context.frame.index)
    for variable in variables:
        column = context.column(variable)
        if column is not None:
            flagged |= column.eq(equals)
    return rows(condition & ~flagged, context.name(variables[0]))
