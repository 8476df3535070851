"""Text values longer (in bytes) than the Length define.xml gives their variable."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import byte_lengths
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("define_length")
def define_length(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    found = []
    for defined in described.variables:
        values = context.frame.get(defined.name)
        if values is None or defined.length is None or pd.api.types.is_numeric_dtype(values):
            continue
        found += rows(byte_lengths(values).gt(defined.length), defined.name, values)
    return found
