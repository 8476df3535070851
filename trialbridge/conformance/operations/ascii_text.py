"""Text values with characters outside printable ASCII (FDA: ASCII only in XPT)."""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc

from trialbridge.conformance.conditions import arrow_text, each_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation

_OUTSIDE = r"[^\x20-\x7e]"  # any character outside printable ASCII


@operation("ascii")
def ascii_text(context: Context) -> list[Issue]:
    frame = context.frame
    found = []
    for name in frame.columns:
        if frame[name].dtype.kind in "fiu":
            continue
        found += rows(each_value(frame[name], _outside), name, frame[name])
    return found


def _outside(values: pd.Series) -> pd.Series:
    matched = pc.match_substring_regex(arrow_text(values), _OUTSIDE).fill_null(False)
    return pd.Series(matched.to_numpy(zero_copy_only=False), index=values.index)
