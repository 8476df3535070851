"""DOMAIN equals the domain the dataset holds: its name, or for a split dataset (LBCH) the
two-letter domain its name starts with, whatever its records say."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("domain_value")
def domain_value(context: Context) -> list[Issue]:
    column = context.column("DOMAIN")
    if column is None:
        return []
    domain = context.domain
    if len(domain) > 2 and domain not in standard_domains():  # LBCH whose records disagree
        domain = domain[:2]
    return rows(column.ne(domain) & column.notna(), "DOMAIN", column)
