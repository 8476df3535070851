"""Values not among the terms of the codelist define.xml attaches to their variable, or to the
variable on the records of one test (value-level metadata); numbers compared as define.xml
writes them: 1 for 1.0."""

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
        if values is None:
            continue
        text = _text(values)
        outside = pd.Series(False, index=values.index)
        if defined.terms is not None:
            outside |= ~text.isin(defined.terms)
        for listed in defined.by_value:
            where = context.frame.get(listed.where)
            if where is not None:
                outside |= where.isin(listed.values) & ~text.isin(listed.terms)
        found += rows(values.notna() & outside, defined.name, values)
    return found


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values):
        return values.map(lambda v: f"{v:g}", na_action="ignore")
    return values.astype("str")
