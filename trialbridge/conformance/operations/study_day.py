"""--DY (or --STDY, --ENDY) that is not the study day of its date against DM.RFSTDTC: the
day difference, plus one on and after the reference day (there is no day 0)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("study_day")
def study_day(context: Context, day: str, date: str) -> list[Issue]:
    days, dates = context.column(day), context.column(date)
    dm = context.datasets.get("DM")
    if days is None or dates is None or dm is None or "RFSTDTC" not in dm.frame:
        return []
    reference = dm.frame.set_index("USUBJID")["RFSTDTC"].astype("str").str[:10]
    start = pd.to_datetime(
        context.frame["USUBJID"].map(reference), errors="coerce", format="%Y-%m-%d"
    )
    when = pd.to_datetime(dates.astype("str").str[:10], errors="coerce", format="%Y-%m-%d")
    difference = (when - start).dt.days
    expected = difference.where(difference < 0, difference + 1)
    comparable = expected.notna() & days.notna()
    return rows(comparable & expected.ne(days), context.name(day), days)
