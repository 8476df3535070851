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

from trialbridge.conformance.conditions import condition, holds, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


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
