"""Values of `variable` that `column` of dataset `dataset` does not hold (ARMCD in TA, ETCD
in TE); values in `ignore` (SCRNFAIL, NOTASSGN) are exempt."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("values_in")
def values_in(
    context: Context, variable: str, dataset: str, column: str, ignore: list[str] | None = None
) -> list[Issue]:
    values = context.column(variable)
    target = context.datasets.get(dataset)
    if values is None or target is None or column not in target.frame:
        return []
    known = set(target.frame[column].dropna()) | set(ignore or [])
    return rows(values.notna() & ~values.isin(known), context.name(variable), values)
