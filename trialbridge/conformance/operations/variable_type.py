"""Standard variables stored as text where the SDTMIG makes them Num, or the reverse. The
file's own types are used where the dataset was read from a file."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("variable_type")
def variable_type(context: Context) -> list[Issue]:
    standard = context.standard_variables()
    if not standard:
        return []
    stored = _stored(context)
    found = []
    for variable in standard:
        kind = stored.get(variable.name)
        if kind is not None and kind != variable.type:
            found.append(Issue(None, variable.name, kind))
    return found


def _stored(context: Context) -> dict[str, str]:
    if context.dataset.source is not None:
        return {c.name: c.type for c in context.dataset.source.columns}
    frame = context.frame
    return {n: "Num" if pd.api.types.is_numeric_dtype(frame[n]) else "Char" for n in frame}
