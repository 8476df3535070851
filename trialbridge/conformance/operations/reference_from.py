"""DM reference dates that are not the earliest (`how: first`) or latest (`how: last`) of the
subject's dates in `dataset` (RFXSTDTC against EXSTDTC). With several `sources` (RFXENDTC
against EXENDTC, then EXSTDTC) each record's first source with a value counts, and so does
each source on its own, as CORE accepts the latest EXSTDTC or the latest EXENDTC: the date
is a finding only when it is none of these. Text is compared as written, so a partial date in
one place and a full date in the other also differ."""

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
    frame = target.frame
    coalesced = frame[present[0]].astype("object")
    for source in present[1:]:
        coalesced = coalesced.where(coalesced.notna(), frame[source])
    columns = [coalesced, *(frame[s] for s in present[1:])]
    differs = pd.Series(True, index=context.frame.index)
    known = pd.Series(False, index=context.frame.index)
    for column in columns:
        dates = pd.DataFrame({"USUBJID": frame["USUBJID"], "date": column}).dropna()
        grouped = dates.groupby("USUBJID")["date"]
        extreme = grouped.min() if how == "first" else grouped.max()
        wanted = context.frame["USUBJID"].map(extreme)
        known |= wanted.notna()
        differs &= wanted.isna() | values.ne(wanted)
    return rows(known & differs, variable, values)
