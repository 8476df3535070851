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


def _group(token: str, unknown: str) -> str:
    return {
        "dd": rf"(?P<d>\d{{1,2}}|{unknown})",
        "mm": rf"(?P<m>\d{{1,2}}|{unknown})",
        "mmm": rf"(?P<m>[A-Za-z]{{3}}|{unknown})",
        "yyyy": r"(?P<y>\d{4})",
    }[token]


def _check(fmt: str) -> list[str]:
    tokens = _TOKEN.findall(fmt)
    if sorted(t[0] for t in tokens) != ["d", "m", "y"] or tokens[1] == "yyyy":
        raise ValueError(f"date format '{fmt}' needs dd, mm (or mmm) and yyyy, year first or last")
    return tokens


def truncations(fmt: str) -> list[str]:
    """The format, then without the day, then the year alone: '06/2021' is June 2021 for
    both dd/mm/yyyy and mm/dd/yyyy."""
    _check(fmt)
    parts = _TOKEN.split(fmt)
    tokens = _TOKEN.findall(fmt)
    day = tokens.index("dd")
    seps = parts[1:-1]
    if day == len(tokens) - 1:  # yyyy-mm-dd: the day and the separator before it go
        no_day = parts[0] + tokens[0] + seps[0] + tokens[1] + parts[-1]
    else:  # dd/mm/yyyy, mm/dd/yyyy: the day and the separator after it go
        kept = [t for t in tokens if t != "dd"]
        joiner = seps[1] if day == 0 else seps[0]
        no_day = parts[0] + kept[0] + joiner + kept[1] + parts[-1]
    return [fmt, no_day, parts[0] + "yyyy" + parts[-1]]


def format_regex(fmt: str, unknown: list[str]) -> re.Pattern[str]:
    """A regex for one exact format (tokens dd, mm, mmm, yyyy and literal separators)."""
    unk = "|".join(re.escape(u) for u in sorted(unknown, key=len, reverse=True))
    pieces = _TOKEN.split(fmt)
    tokens = _TOKEN.findall(fmt)
    body = re.escape(pieces[0])
    for token, sep in zip(tokens, pieces[1:], strict=True):
        body += _group(token, unk) + re.escape(sep)
    return re.compile(rf"^{body}$", re.IGNORECASE)


def _extract(dates: pd.Series, fmt: str, unknown: list[str]) -> pd.DataFrame:
    """Day, month and year text per value, from the first truncation that matches."""
    parts = pd.DataFrame(pd.NA, index=dates.index, columns=["d", "m", "y"], dtype="str")
    pending = dates.notna()
    for form in truncations(fmt):
        found = dates[pending].str.extract(format_regex(form, unknown))
        for key in ("d", "m", "y"):
            if key not in found:
                found[key] = pd.NA
        matched = found["y"].notna()
        parts.loc[matched[matched].index] = found.loc[matched, ["d", "m", "y"]].to_numpy()
        pending &= ~parts["y"].notna()
    return parts


def assemble(
    dates: pd.Series, fmt: str, unknown: list[str], times: pd.Series | None = None
) -> Assembled:
    """ISO 8601 text for each value; missing in, missing out. Each distinct (date, time) is
    worked out once: a million records hold a few thousand."""
    pairs = pd.DataFrame({"date": dates, "time": times if times is not None else ""})
    codes = pairs.groupby(["date", "time"], dropna=False, sort=False).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    once = _assemble(dates.iloc[first], fmt, unknown, None if times is None else times.iloc[first])

    def spread(values: pd.Series) -> pd.Series:
        return pd.Series(values.to_numpy()[codes], index=dates.index, dtype=values.dtype)

    return Assembled(spread(once.iso), spread(once.bad_date), spread(once.bad_time))


def _assemble(
    dates: pd.Series, fmt: str, unknown: list[str], times: pd.Series | None = None
) -> Assembled:
    present = dates.notna()
    parts = _extract(dates, fmt, unknown)
    bad = present & parts["y"].isna()
    year = pd.to_numeric(parts["y"], errors="coerce")
    month = _month_number(parts["m"])
    day = pd.to_numeric(parts["d"], errors="coerce")
    tokens = {u.upper() for u in unknown}
    month_given = parts["m"].notna() & ~parts["m"].str.upper().isin(tokens)
    bad |= (month_given & month.isna()).fillna(False)  # three letters that are not a month
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
