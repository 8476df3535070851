"""Records that share the values of `by` (--SEQ within USUBJID), and of each `optional`
variable the dataset has (timepoint, position, specimen: what tells results apart)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("unique")
def unique(context: Context, by: list[str], optional: list[str] | None = None) -> list[Issue]:
    names = [context.name(v) for v in by]
    if not all(n in context.frame for n in names):
        return []
    names += [n for n in (context.name(v) for v in optional or []) if n in context.frame]
    duplicated = context.frame.duplicated(subset=names, keep=False)
    return rows(duplicated, names[len(by) - 1], context.frame[names[len(by) - 1]])
