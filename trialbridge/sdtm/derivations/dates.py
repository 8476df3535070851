"""Date helpers shared by derivations: ISO 8601 text to comparable values."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from trialbridge.sdtm.lookup import lookup

COMPLETE_DATE = r"^\d{4}-\d{2}-\d{2}"


def date_part(iso: pd.Series) -> pd.Series:
    """The calendar date of complete ISO 8601 dates; NaT for partial or missing ones."""
    return _per_value(iso, _date_part)[0]


def moment(iso: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(datetime, has_time) for complete dates; the datetime is midnight when no time is given."""
    stamp, has_time, _ = moments(iso)
    return stamp, has_time


def _per_value(iso: pd.Series, *parsers: Callable[[pd.Series], pd.Series]) -> list[pd.Series]:
    """Each parser on each distinct value once, spread back to the records (dates repeat)."""
    codes, uniques = pd.factorize(iso, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="str")
    spread = []
    for parse in parsers:
        values = parse(distinct).to_numpy()
        missing = np.array(["NaT"], dtype=values.dtype) if values.dtype.kind == "M" else [False]
        spread.append(pd.Series(np.concatenate([values, missing])[codes], index=iso.index))
    return spread


def _date_part(text: pd.Series) -> pd.Series:
    complete = text.str.match(COMPLETE_DATE).fillna(False).astype(bool)
    return pd.to_datetime(text.str.slice(0, 10).where(complete), format="%Y-%m-%d", errors="coerce")


def _has_time(text: pd.Series) -> pd.Series:
    return text.str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}").fillna(False).astype(bool)


def _moment(text: pd.Series) -> pd.Series:
    hhmm = text.str.slice(11, 16)
    hhmm = hhmm.where(hhmm.str.len() == 5, hhmm.str.slice(0, 2) + ":00")
    stamp = pd.to_datetime(
        text.str.slice(0, 10) + " " + hhmm, format="%Y-%m-%d %H:%M", errors="coerce"
    )
    return stamp.where(_has_time(text), _date_part(text))


Moment = tuple[pd.Series, pd.Series, pd.Series]  # (datetime, has_time, calendar date)


def moments(iso: pd.Series) -> Moment:
    """(datetime, has_time, calendar date), from one pass over the distinct values: what
    on_or_after needs of a column, to work out once where it is compared often."""
    stamp, has_time, day = _per_value(iso, _moment, _has_time, _date_part)
    return stamp, has_time.fillna(False).astype(bool), day


def spread(moment: Moment, codes: np.ndarray, index: pd.Index) -> Moment:
    """Moments of distinct values given to the rows whose value has each code (-1: missing)."""
    return tuple(  # type: ignore[return-value]
        pd.Series(
            take(
                part.to_numpy(),
                codes,
                allow_fill=True,
                fill_value=False if part.dtype == bool else None,
            ),
            index=index,
        )
        for part in moment
    )


def on_or_after(left: pd.Series | Moment, right: pd.Series | Moment) -> pd.Series:
    """left >= right for ISO 8601 values; on the same date without both times, it counts as
    true. Either side may be given as its moments()."""
    lt, l_time, l_day = left if isinstance(left, tuple) else moments(left)
    rt, r_time, r_day = right if isinstance(right, tuple) else moments(right)
    same_day = l_day == r_day
    return ((lt >= rt) | (same_day & ~(l_time & r_time))).fillna(False).astype(bool)


def per_subject(frame: pd.DataFrame, dm: pd.DataFrame, variable: str) -> pd.Series:
    """DM's `variable` for each row's USUBJID."""
    values = dm.set_index("USUBJID")[variable]
    return lookup(frame["USUBJID"], values)


def date_variable(domain: str, frame: pd.DataFrame) -> str | None:
    """The date a record is placed in time by: --STDTC for events and interventions, --DTC
    for findings."""
    return next((domain + s for s in ("STDTC", "DTC") if domain + s in frame), None)
