"""Variables of the given SDTMIG core (Perm) that the dataset carries with no value in any
record: a permissible variable that was not collected is better left out. Those in `unless`
(--DY: FDA asks for the study day beside a date even where none can be worked out) are
not held to it, as Pinnacle 21's SD1078 leaves them."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("all_empty")
def all_empty(context: Context, core: str, unless: list[str] | None = None) -> list[Issue]:
    if context.frame.empty:
        return []
    spared = {context.name(v) for v in unless or []}
    chosen = [v.name for v in context.standard_variables() if v.core == core]
    chosen = [name for name in chosen if name not in spared]
    return [
        Issue(None, name, None)
        for name in chosen
        if name in context.frame and _empty(context.frame[name])
    ]


def _empty(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.StringDtype):  # text: each distinct value once
        values = pd.Series(values.unique(), dtype=values.dtype)
    return not populated(values).any()
