"""Values not among the terms of the codelist define.xml attaches to their variable, or to the
variable on the records of one test (value-level metadata); numbers compared as define.xml
writes them: 1 for 1.0."""

from __future__ import annotations

import numpy as np
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
        if values is None or (defined.terms is None and not defined.by_value):
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
    """Each value as define.xml writes it; a number formatted once per distinct value."""
    if not pd.api.types.is_numeric_dtype(values):
        return values.astype("str")
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    written = np.array([f"{v:g}" for v in distinct] + [""], dtype=object)
    return pd.Series(written[codes], index=values.index)
