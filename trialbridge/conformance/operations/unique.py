"""Records that share the values of `by` (--SEQ within USUBJID)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("unique")
def unique(context: Context, by: list[str]) -> list[Issue]:
    names = [context.name(v) for v in by]
    if not all(n in context.frame for n in names):
        return []
    duplicated = context.frame.duplicated(subset=names, keep=False)
    return rows(duplicated, names[-1], context.frame[names[-1]])
