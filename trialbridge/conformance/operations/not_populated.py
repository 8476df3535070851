"""Records (meeting `when`) where `variable` has a value it must not have: AEENDTC when the
outcome is NOT RECOVERED, --ORRES when the test was NOT DONE."""

from __future__ import annotations

from typing import Any

from trialbridge.conformance.conditions import applies, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("not_populated")
def not_populated(
    context: Context, variable: str, when: dict[str, Any] | None = None
) -> list[Issue]:
    values = context.column(variable)
    condition = applies(context, when)
    if values is None or condition is None:
        return []
    return rows(condition & populated(values), context.name(variable), values)
