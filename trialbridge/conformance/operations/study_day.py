"""--DY (or --STDY, --ENDY) that is not the study day of its date against DM.RFSTDTC: the
day difference, plus one on and after the reference day (there is no day 0). Dates and
subjects are parsed and looked up once per distinct value."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import each_value, numbers
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("study_day")
def study_day(context: Context, day: str, date: str) -> list[Issue]:
    days, dates = context.column(day), context.column(date)
    starts = context.by_subject("RFSTDTC")
    if days is None or dates is None or starts is None or "USUBJID" not in context.frame:
        return []
    reference = starts.astype("str").where(starts.notna()).str[:10]
    start = each_value(context.frame["USUBJID"], lambda s: _day(s.map(reference)))
    when = each_value(dates, lambda d: _day(d.astype("str").str[:10]))
    difference = (when - start).dt.days
    expected = difference.where(difference < 0, difference + 1)
    given = numbers(days)
    comparable = expected.notna() & given.notna()
    return rows(comparable & expected.ne(given), context.name(day), days)


def _day(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
