"""Records whose `start` is after their `end` (ISO 8601 text compared on the precision
both have: 2021-06 is not after 2021-06-15)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import later
from trialbridge.conformance.operations import operation


@operation("date_order")
def date_order(context: Context, start: str, end: str) -> list[Issue]:
    first, last = context.column(start), context.column(end)
    if first is None or last is None:
        return []
    return rows(later(first, last), context.name(start), first)
