"""Values of `variable` that do not match a regular expression (a pattern for test codes)."""

from __future__ import annotations

import re

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("matches")
def matches(context: Context, variable: str, pattern: str) -> list[Issue]:
    values = context.column(variable)
    if values is None:
        return []
    compiled = re.compile(pattern)
    present = values.dropna().astype("str")
    bad = pd.Series([not compiled.fullmatch(v) for v in present], index=present.index, dtype=bool)
    return rows(bad.reindex(values.index, fill_value=False), context.name(variable), values)
