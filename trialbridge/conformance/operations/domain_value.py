"""DOMAIN equals the domain the dataset holds (its name, or LB for the split LBCH)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("domain_value")
def domain_value(context: Context) -> list[Issue]:
    column = context.column("DOMAIN")
    if column is None:
        return []
    return rows(column.ne(context.domain) & column.notna(), "DOMAIN", column)
