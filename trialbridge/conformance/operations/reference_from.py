"""DM reference dates that are not the earliest (`how: first`) or latest (`how: last`) of the
subject's dates in `dataset` (RFXSTDTC against EXSTDTC). Text is compared as written, so a
partial date in one place and a full date in the other also differ."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("reference_from")
def reference_from(
    context: Context, variable: str, dataset: str, sources: list[str], how: Literal["first", "last"]
) -> list[Issue]:
    values = context.column(variable)
    target = context.datasets.get(dataset)
    if values is None or target is None or "USUBJID" not in target.frame:
        return []
    if "USUBJID" not in context.frame:
        return []
    present = [s for s in sources if s in target.frame]
    if not present:
        return []
    stacked = pd.concat(
        [target.frame[["USUBJID", s]].set_axis(["USUBJID", "date"], axis=1) for s in present]
    ).dropna()
    grouped = stacked.groupby("USUBJID")["date"]
    expected = grouped.min() if how == "first" else grouped.max()
    wanted = context.frame["USUBJID"].map(expected)
    differs = wanted.notna() & values.ne(wanted)
    return rows(differs, variable, values)
