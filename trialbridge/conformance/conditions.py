"""Record conditions shared by operations: which records a rule applies to (`when`: variable
-> value or list of values; `when_present`: variables that must have a value; `when_empty`:
variables that must have none; and in `condition`, `when_empty_or_absent`, `when_any` and
`unless`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.conformance.context import Context


def per_value(values: pd.Series, test: Callable[[str], bool]) -> pd.Series:
    """`test` on each distinct text value once, mapped back to every record (codes and dates
    repeat: a million records hold a few thousand values); missing values give False."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.array([test(str(v)) for v in uniques] + [False], dtype=bool)
    return pd.Series(results[codes], index=values.index)


def each_value(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`function`, elementwise over a Series, worked out once for each distinct value of a
    text column and spread back over its records (codes, dates and results repeat: a million
    records hold far fewer values). Other columns go to `function` whole: to a hash table 1,
    1.0 and True are one value, to str() they are three."""
    if not isinstance(values.dtype, pd.StringDtype):
        return function(values)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    worked = np.asarray(function(pd.Series(distinct, dtype=values.dtype)))
    return pd.Series(worked[codes], index=values.index)


def byte_lengths(values: pd.Series) -> pd.Series:
    """UTF-8 length of each text value (NaN where missing), computed by Arrow."""
    lengths = pc.binary_length(arrow_text(values)).to_numpy(zero_copy_only=False)
    return pd.Series(lengths, index=values.index, dtype="float64")


def arrow_text(values: pd.Series) -> pa.Array:
    """The values as an Arrow string array (no copy for Arrow-backed text), nulls kept."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str").where(values.notna())
    return pa.array(values, pa.large_string(), from_pandas=True)


def numbers(values: pd.Series) -> pd.Series:
    """The values as float64: a variable stored as text (TB0060's finding) is compared by the
    numbers its text holds, anything else as missing."""
    return pd.to_numeric(values, errors="coerce").astype("float64")


def populated(values: pd.Series) -> pd.Series:
    """Has a value: not null and not blank text."""
    if values.dtype.kind in "biufc":  # a number's text is never blank
        return values.notna()
    return values.notna() & values.astype("str").str.strip().ne("")


def applies(
    context: Context,
    when: dict[str, Any] | None = None,
    when_present: list[str] | None = None,
    when_empty: list[str] | None = None,
) -> pd.Series | None:
    """The records meeting every condition; None when a condition's variable is absent (the
    rule does not apply to the dataset)."""
    condition = pd.Series(True, index=context.frame.index)
    for variable in when_present or []:
        column = context.column(variable)
        if column is None:
            return None
        condition &= populated(column)
    for variable in when_empty or []:
        column = context.column(variable)
        if column is None:
            return None
        condition &= ~populated(column)
    for variable, wanted in (when or {}).items():
        column = context.column(variable)
        if column is None:
            return None
        values = wanted if isinstance(wanted, list) else [wanted]
        condition &= column.isin(values)
    return condition


def condition(
    context: Context,
    when: dict[str, Any] | None = None,
    when_present: list[str] | None = None,
    when_empty: list[str] | None = None,
    when_empty_or_absent: list[str] | None = None,
    when_any: list[str | dict[str, Any]] | None = None,
    unless: dict[str, Any] | None = None,
) -> pd.Series | None:
    """The records meeting `applies`'s conditions, with every `when_empty_or_absent`
    variable empty or not in the dataset, at least one item of `when_any` holding (a
    variable: it has a value; a mapping: the variable holds the value), and no `unless`
    variable holding its value(s); None when it cannot apply to the dataset."""
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
