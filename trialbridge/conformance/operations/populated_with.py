"""`variable` (or at least one of `one_of`) must have a value, one of `values` where given,
in the records meeting a condition: --TPTREF when --ELTM is populated, ARMNRS when ARMCD is
empty, TSVCDREF SNOMED for the TS parameter INDIC. A record meets the condition when every
`when` variable holds its value (or one of its list), every `when_present` variable has a
value, every `when_empty` variable has none (a variable of these three the dataset lacks:
the rule does not apply), every `when_empty_or_absent` variable has none or is not in the
dataset, at least one item of `when_any` holds (a variable: it has a value; a mapping: the
variable holds the value), and no `unless` variable holds its value(s). When the dataset
lacks every target, nothing is reported (whether the variable should be there is a check of
its own), unless `absent_is_missing` is "yes": then it is missing in every record that meets
the condition (CORE's reading for --TPTREF beside --RFTDTC)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.conditions import applies, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


def condition(
    context: Context,
    when: dict[str, Any] | None = None,
    when_present: list[str] | None = None,
    when_empty: list[str] | None = None,
    when_empty_or_absent: list[str] | None = None,
    when_any: list[str | dict[str, Any]] | None = None,
    unless: dict[str, Any] | None = None,
) -> pd.Series | None:
    """The records meeting the condition the module docstring describes; None when it
    cannot apply to the dataset. Shared by populated_with, not_both and value_not."""
    met = applies(context, when, when_present, when_empty)
    if met is None:
        return None
    for variable in when_empty_or_absent or []:
        column = context.column(variable)
        if column is not None:
            met &= ~populated(column)
    if when_any:
        anyone, seen = pd.Series(False, index=context.frame.index), False
        for item in when_any:
            for variable, wanted in item.items() if isinstance(item, dict) else [(item, None)]:
                column = context.column(variable)
                if column is None:
                    continue
                seen = True
                anyone |= populated(column) if wanted is None else holds(column, wanted)
        if not seen:
            return None
        met &= anyone
    for variable, wanted in (unless or {}).items():
        column = context.column(variable)
        if column is not None:
            met &= ~holds(column, wanted)
    return met


def holds(column: pd.Series, wanted: Any) -> pd.Series:
    """`column` holds `wanted` (a value or a list): numbers compared as numbers (a rule's
    params arrive as text), text as it is."""
    listed = wanted if isinstance(wanted, list) else [wanted]
    if column.dtype.kind in "biuf":
        listed = pd.to_numeric(pd.Series(listed, dtype=object), errors="coerce").dropna()
    return column.isin(list(listed)).fillna(False)


@operation("populated_with")
def populated_with(
    context: Context,
    variable: str | None = None,
    one_of: list[str] | None = None,
    values: list[Any] | None = None,
    absent_is_missing: str = "no",
    **conditions: Any,
) -> list[Issue]:
    met = condition(context, **conditions)
    targets = [variable] if variable else list(one_of or [])
    if met is None or not targets:
        return []
    reported = context.name(targets[0])
    columns = [c for c in (context.column(t) for t in targets) if c is not None]
    if not columns:
        return rows(met, reported) if absent_is_missing == "yes" else []
    ok = pd.Series(False, index=context.frame.index)
    for column in columns:
        ok |= populated(column) if values is None else holds(column, values)
    return rows(met & ~ok, reported, context.column(targets[0]))
