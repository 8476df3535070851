"""Record conditions shared by operations: which records a rule applies to (`when`: variable
-> value or list of values; `when_present`: variables that must have a value)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.context import Context


def populated(values: pd.Series) -> pd.Series:
    """Has a value: not null and not blank text."""
    return values.notna() & values.astype("str").str.strip().ne("")


def applies(
    context: Context, when: dict[str, Any] | None = None, when_present: list[str] | None = None
) -> pd.Series | None:
    """The records meeting every condition; None when a condition's variable is absent (the
    rule does not apply to the dataset)."""
    condition = pd.Series(True, index=context.frame.index)
    for variable in when_present or []:
        column = context.column(variable)
        if column is None:
            return None
        condition &= populated(column)
    for variable, wanted in (when or {}).items():
        column = context.column(variable)
        if column is None:
            return None
        values = wanted if isinstance(wanted, list) else [wanted]
        condition &= column.isin(values)
    return condition
