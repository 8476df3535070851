"""Values of `variable` that do not match a regular expression (a pattern for test codes)."""

from __future__ import annotations

import re

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("matches")
def matches(context: Context, variable: str, pattern: str) -> list[Issue]:
    values = context.column(variable)
    if values is None:
        return []
    compiled = re.compile(pattern)
    bad = per_value(values, lambda v: compiled.fullmatch(v) is None)
    return rows(bad, context.name(variable), values)
