"""Values not among the terms of the codelist define.xml attaches to their variable (numbers
compared as define.xml writes them: 1 for 1.0)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("define_codelist")
def define_codelist(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    found = []
    for defined in described.variables:
        values = context.frame.get(defined.name)
        if values is None or defined.terms is None:
            continue
        text = _text(values)
        found += rows(values.notna() & ~text.isin(defined.terms), defined.name, values)
    return found


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.map(lambda v: f"{v:g}", na_action="ignore")
    return values.astype("str")
