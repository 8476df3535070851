"""Numeric results with no unit: `unit` must be populated where `result` is a number, except
for a result of 0, a test not done (--STAT), and the tests that have no unit: test codes in
`unitless_codes` (PH, SPGRAV) and test names matching a pattern of `unitless_names` (a
ratio, a count), as Pinnacle 21's SD0026 excepts them."""

from __future__ import annotations

import re

import pandas as pd

from trialbridge.conformance.conditions import each_value, per_value, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("unit_when_numeric")
def unit_when_numeric(
    context: Context,
    result: str,
    unit: str,
    unitless_codes: list[str] | None = None,
    unitless_names: list[str] | None = None,
) -> list[Issue]:
    values = context.column(result)
    if values is None:
        return []
    numeric = each_value(values, _numeric) & values.astype("str").str.strip().ne("0")
    numeric &= ~_unitless(context, unitless_codes or [], unitless_names or [])
    status = context.column("--STAT")
    if status is not None:
        numeric &= status.ne("NOT DONE") | status.isna()
    units = context.column(unit)
    if units is None:
        return rows(numeric, context.name(unit), values)
    return rows(numeric & ~populated(units), context.name(unit), values)


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").notna()


def _unitless(context: Context, codes: list[str], names: list[str]) -> pd.Series:
    """Records of a test that has no unit, by its code or its name."""
    found = pd.Series(False, index=context.frame.index)
    testcd, test = context.column("--TESTCD"), context.column("--TEST")
    if testcd is not None:
        found |= testcd.isin(codes)
    if test is not None and names:
        pattern = re.compile("|".join(f"(?:{n})" for n in names))
        found |= per_value(test, lambda name: pattern.fullmatch(name) is not None)
    return found
