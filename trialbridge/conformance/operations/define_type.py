"""Variables stored as numbers where define.xml declares text, dates or times, or stored as
text where it declares integer or float."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.define_read import NUMERIC_TYPES


@operation("define_type")
def define_type(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    found = []
    for defined in described.variables:
        if defined.name not in context.frame:
            continue
        stored_numeric = pd.api.types.is_numeric_dtype(context.frame[defined.name])
        if stored_numeric != (defined.data_type in NUMERIC_TYPES):
            found.append(Issue(None, defined.name, defined.data_type))
    return found
