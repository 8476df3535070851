"""Records where not exactly one of `variables` has a value (TSVAL or its null flavour
TSVALNF, never both, never neither); an absent variable counts as empty."""

from __future__ import annotations

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("exactly_one")
def exactly_one(context: Context, variables: list[str]) -> list[Issue]:
    columns = [c for c in (context.column(v) for v in variables) if c is not None]
    if not columns:
        return []
    count = sum(populated(c).astype("int64") for c in columns)
    return rows(count.ne(1), context.name(variables[0]))
