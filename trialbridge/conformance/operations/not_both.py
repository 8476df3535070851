"""Records (meeting conditions.condition: `when`, `when_present`, `unless`, ...) where
`a` and `b` both have a value though at most one may: --DOSE and --DOSTXT, AGE and AGETXT,
CODTC on a comment tied to a parent record (IDVAR). The finding names `b`, the value to
remove or move."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import condition, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("not_both")
def not_both(context: Context, a: str, b: str, **conditions: Any) -> list[Issue]:
    first, second = context.column(a), context.column(b)
    met = condition(context, **conditions)
    if first is None or second is None or met is None:
        return []
    return rows(met & populated(first) & populated(second), context.name(b), second)
