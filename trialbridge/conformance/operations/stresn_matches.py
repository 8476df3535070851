"""--STRESN that differs from --STRESC where --STRESC is a number (or is missing when it is,
the whole variable too): the numeric standard result must carry the same value as the text
one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.conditions import each_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("stresn_matches")
def stresn_matches(context: Context) -> list[Issue]:
    text, number = context.column("--STRESC"), context.column("--STRESN")
    if text is None:
        return []
    parsed = each_value(text, _number).to_numpy(dtype="float64")
    if number is None:
        numeric = pd.Series(~np.isnan(parsed), index=text.index)
        return rows(numeric, context.name("--STRESN"))
    given = pd.to_numeric(number, errors="coerce").to_numpy(dtype="float64")
    numeric = ~np.isnan(parsed)
    close = np.isclose(parsed, given, rtol=1e-12, atol=0.0)
    differs = numeric & (np.isnan(given) | ~close)
    return rows(pd.Series(differs, index=text.index), context.name("--STRESN"), number)


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")
