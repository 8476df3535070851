"""ISO 8601 from messy dates and times, vectorised; partial dates stay partial."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_TOKEN = re.compile(r"yyyy|mmm|mm|dd")
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_TIME = re.compile(r"^(?P<h>\d{1,2}|[A-Za-z-]+)(?::(?P<mi>\d{2}|[A-Za-z-]+)(?::(?P<s>\d{2}))?)?$")


@dataclass(frozen=True)
class Assembled:
    """ISO strings, plus the rows whose input was not a valid date or time."""

    iso: pd.Series
    bad_date: pd.Series
    bad_time: pd.Series


def format_regex(fmt: str, unknown: list[str]) -> re.Pattern[str]:
    """A regex for `fmt` (tokens dd, mm, mmm, yyyy); components may be truncated away
    on the side away from the year, so '2021-06' matches yyyy-mm-dd and '06/2021' dd/mm/yyyy.
    """
    tokens = _TOKEN.findall(fmt)
    seps = _TOKEN.split(fmt)
    if sorted(t[0] for t in tokens) != ["d", "m", "y"] or tokens[1] == "yyyy":
        raise ValueError(f"date format '{fmt}' needs dd, mm (or mmm) and yyyy, year first or last")
    unk = "|".join(re.escape(u) for u in sorted(unknown, key=len, reverse=True))
    group = {
        "dd": rf"(?P<d>\d{{1,2}}|{unk})",
        "mm": rf"(?P<m>\d{{1,2}}|{unk})",
        "mmm": rf"(?P<m>[A-Za-z]{{3}}|{unk})",
        "yyyy": r"(?P<y>\d{4})",
    }
    parts = [group[t] for t in tokens]
    if tokens[0] == "yyyy":
        body = parts[0] + f"(?:{re.escape(seps[1])}{parts[1]}(?:{re.escape(seps[2])}{parts[2]})?)?"
    else:
        body = f"(?:(?:{parts[0]}{re.escape(seps[1])})?{parts[1]}{re.escape(seps[2])})?{parts[2]}"
    return re.compile(rf"^{re.escape(seps[0])}{body}{re.escape(seps[3])}$", re.IGNORECASE)


def assemble(
    dates: pd.Series, fmt: str, unknown: list[str], times: pd.Series | None = None
) -> Assembled:
    """ISO 8601 text for each value; missing in, missing out."""
    present = dates.notna()
    parts = dates.str.extract(format_regex(fmt, unknown))
    bad = present & parts["y"].isna()
    year = pd.to_numeric(parts["y"], errors="coerce")
    month = _month_number(parts["m"])
    day = pd.to_numeric(parts["d"], errors="coerce")
    bad |= present & ((month < 1) | (month > 12)).fillna(False)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_idx = month.fillna(1).clip(1, 12).astype(int) - 1
    limit = np.where(month.notna(), _DAYS[month_idx] + ((month == 2) & leap), 31)
    bad |= present & ((day < 1) | (day > limit)).fillna(False)
    text = _date_text(year, month, day)
    iso = text.where(present & ~bad)
    bad_time = pd.Series(False, index=dates.index)
    if times is not None:
        clock, bad_time = _time_text(times, unknown)
        full = month.notna() & day.notna() & iso.notna() & clock.notna()
        iso = iso.where(~full, iso + "T" + clock)
    return Assembled(iso=iso.astype("str").where(iso.notna()), bad_date=bad, bad_time=bad_time)


def _month_number(values: pd.Series) -> pd.Series:
    upper = values.str.upper()
    by_name = upper.map({name: i + 1 for i, name in enumerate(MONTHS)})
    return pd.to_numeric(upper, errors="coerce").fillna(by_name)


def _pad(values: pd.Series, width: int) -> pd.Series:
    return values.astype("Int64").astype("str").str.zfill(width)


def _date_text(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    y = _pad(year, 4)
    m = _pad(month, 2)
    d = _pad(day, 2)
    text = y.copy()
    text = text.mask(month.notna(), y + "-" + m)
    text = text.mask(month.notna() & day.notna(), y + "-" + m + "-" + d)
    text = text.mask(month.isna() & day.notna(), y + "---" + d)
    return text.where(year.notna())


def _time_text(times: pd.Series, unknown: list[str]) -> tuple[pd.Series, pd.Series]:
    """HH:MM[:SS] text, with unknown minutes dropping to hour precision."""
    parts = times.str.extract(_TIME)
    tokens = {u.upper() for u in unknown}
    hour = pd.to_numeric(parts["h"], errors="coerce")
    minute = pd.to_numeric(parts["mi"], errors="coerce")
    second = pd.to_numeric(parts["s"], errors="coerce")
    present = times.notna()
    bad = present & parts["h"].isna()
    bad |= ((hour > 23) | (minute > 59) | (second > 59)).fillna(False)
    for letters in (parts["h"], parts["mi"]):
        bad |= (
            letters.notna() & ~letters.str.isdigit() & ~letters.str.upper().isin(tokens)
        ).fillna(False)
    text = _pad(hour, 2)
    text = text.mask(minute.notna(), text + ":" + _pad(minute, 2))
    text = text.mask(minute.notna() & second.notna(), text + ":" + _pad(second, 2))
    return text.where(hour.notna() & ~bad), bad
