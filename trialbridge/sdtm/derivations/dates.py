"""Date helpers shared by derivations: ISO 8601 text to comparable values."""

from __future__ import annotations

import pandas as pd

COMPLETE_DATE = r"^\d{4}-\d{2}-\d{2}"


def date_part(iso: pd.Series) -> pd.Series:
    """The calendar date of complete ISO 8601 dates; NaT for partial or missing ones."""
    text = iso.astype("str").where(iso.notna())
    complete = text.str.match(COMPLETE_DATE).fillna(False).astype(bool)
    return pd.to_datetime(text.str.slice(0, 10).where(complete), format="%Y-%m-%d", errors="coerce")


def moment(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(datetime, has_time) for complete dates; the datetime is midnight when no time is given."""
    text = iso.astype("str").where(iso.notna())
    day = date_part(iso)
    has_time = text.str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}").fillna(False).astype(bool)
    hhmm = text.str.slice(11, 16)
    hhmm = hhmm.where(hhmm.str.len() == 5, hhmm.str.slice(0, 2) + ":00")
    stamp = pd.to_datetime(
        text.str.slice(0, 10) + " " + hhmm, format="%Y-%m-%d %H:%M", errors="coerce"
    )
    return stamp.where(has_time, day), has_time


def on_or_after(left: pd.Series, right: pd.Series) -> pd.Series:
    """left >= right for ISO 8601 values; on the same date without both times, it counts as true."""
    lt, l_time = moment(left)
    rt, r_time = moment(right)
    same_day = date_part(left) == date_part(right)
    return ((lt >= rt) | (same_day & ~(l_time & r_time))).fillna(False).astype(bool)


def per_subject(frame: pd.DataFrame, dm: pd.DataFrame, variable: str) -> pd.Series:
    """DM's `variable` for each row's USUBJID."""
    values = dm.set_index("USUBJID")[variable]
    return frame["USUBJID"].map(values)


def date_variable(domain: str, frame: pd.DataFrame) -> str | None:
    """The date a record is placed in time by: --STDTC for events and interventions, --DTC
    for findings."""
    return next((domain + s for s in ("STDTC", "DTC") if domain + s in frame), None)
