"""ISO 8601 text as SDTM writes it: whether a value is valid (complete or right-truncated,
unknown parts as a hyphen, every known part a real calendar date and clock time), and values
compared on the precision both have: 2021-06 is neither before nor after 2021-06-15."""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

_DTC = re.compile(
    r"^(\d{4}|-)(-(\d{2}|-)(-(\d{2}|-)(T(\d{2}|-)(:(\d{2}|-)(:(\d{2})(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def valid(value: str) -> bool:
    """SDTM ISO 8601: 2021-02-28T13:05:09, 2021-02, 2021---15, -----T07:15; not 2021-02-30,
    2021-13, T24:00 or :60."""
    match = _DTC.match(value)
    if match is None:
        return False
    year, month, day = match.group(1), match.group(3), match.group(5)
    clock = [(match.group(7), 23), (match.group(9), 59), (match.group(11), 59)]
    if any(part and part.isdigit() and int(part) > top for part, top in clock):
        return False
    if not (month and month.isdigit()):
        return True
    if not 1 <= int(month) <= 12:
        return False
    if not (day and day.isdigit()):
        return True
    leap = 2000 if not year.isdigit() else int(year)  # year unknown: 29 February may be real
    return 1 <= int(day) <= calendar.monthrange(leap, int(month))[1]


# ISO 8601 values compared are grouped on their common length (a handful) and compared as
# text: vectorised


def later(first: pd.Series, second: pd.Series) -> pd.Series:
    """True where both have a value and `first` is after `second`, on the precision both
    have: each value is read up to its first unknown part (2018---12 as 2018) and without
    surrounding blanks, and up to the seconds."""
    both = first.notna() & second.notna()
    a = _known(first.where(both, ""))
    b = _known(second.where(both, ""))
    common = np.minimum(a.str.len().to_numpy(), b.str.len().to_numpy())
    result = np.zeros(len(a), dtype=bool)
    for n in np.unique(common[both.to_numpy()]):
        at = both.to_numpy() & (common == n)
        result[at] = (a[at].str[:n] > b[at].str[:n]).to_numpy()
    return pd.Series(result, index=first.index)


def _known(values: pd.Series) -> pd.Series:
    """The known leading part of each ISO 8601 value: 2018---12 -> 2018, -----T07:15 -> ''."""
    text = values.astype("str").str.strip().str[:19]
    return text.str.replace(r"-?-[-T].*$|^-.*$", "", regex=True)
