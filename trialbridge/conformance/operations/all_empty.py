"""Variables of the given SDTMIG core (Perm) that the dataset carries with no value in any
record: a permissible variable that was not collected is better left out."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("all_empty")
def all_empty(context: Context, core: str) -> list[Issue]:
    if context.frame.empty:
        return []
    chosen = [v.name for v in context.standard_variables() if v.core == core]
    return [
        Issue(None, name, None)
        for name in chosen
        if name in context.frame and _empty(context.frame[name])
    ]


def _empty(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.StringDtype):  # text: each distinct value once
        values = pd.Series(values.unique(), dtype=values.dtype)
    return not populated(values).any()
