"""--STRF / --ENRF: where a record's start or end falls against the subject's study reference
period (DM.RFSTDTC to DM.RFENDTC), for a spec that asks (`relative_timing: true`).

A partial date is the span of days it may be: a span across the period's start is
BEFORE/DURING, across its end DURING/AFTER, across both UNKNOWN (the STENRF codelist)."""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.derivations.dates import per_subject
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lookup import per_distinct

PAIRS = (("STDTC", "STRF"), ("ENDTC", "ENRF"))
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def derive(domain: DomainFrame, dm: pd.DataFrame) -> dict[str, pd.Series]:
    """The relative timing variables the domain's metadata has and its records lack."""
    if not domain.settings.relative_timing:
        return {}
    frame, p = domain.frame, domain.code
    if not any(domain.meta.variable(p + rf) for _, rf in PAIRS):
        raise UserError(
            f"relative_timing is set on {p}, which has neither {p}STRF nor {p}ENRF",
            domain.where,
            "remove relative_timing from this spec (it is for Events and Interventions)",
        )
    start = _days(per_subject(frame, dm, "RFSTDTC"), first=True)
    end = _days(per_subject(frame, dm, "RFENDTC"), first=False)
    out = {}
    for date_suffix, rf_suffix in PAIRS:
        date_var, rf_var = p + date_suffix, p + rf_suffix
        if date_var in frame and domain.meta.variable(rf_var) and rf_var not in frame:
            out[rf_var] = _relative(frame[date_var], start, end)
    return out


def _relative(dates: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
    early, late = _days(dates, first=True), _days(dates, first=False)
    before, after = late < start, early > end
    inside = (early >= start) & ((late <= end) | end.isna())
    spans_start = (early < start) & (late >= start)
    spans_end = (early <= end) & (late > end) & (early >= start)
    choices = {
        "BEFORE": before,
        "AFTER": after,
        "DURING": inside,  # with no RFENDTC yet, the period has not ended
        "BEFORE/DURING": spans_start & ((late <= end) | end.isna()),
        "DURING/AFTER": spans_end,
        "UNKNOWN": spans_start,  # across both ends
    }
    names = list(choices)
    conditions = [c.fillna(False).to_numpy(bool) for c in choices.values()]
    chosen = np.select(conditions, names, default="")
    known = early.notna() & start.notna()
    return pd.Series(chosen, index=dates.index, dtype="str").where(known & (chosen != ""))


def _days(iso: pd.Series, first: bool) -> pd.Series:
    """The first (or last) day an ISO 8601 date, complete or partial, may be."""
    return per_distinct(iso, lambda text: _bound(text, first)).astype("datetime64[ns]")


def _bound(text: str, first: bool) -> pd.Timestamp | None:
    match = _PARTIAL.match(str(text))
    if match is None:
        return None
    year = int(match[1])
    month = int(match[2]) if match[2] else (1 if first else 12)
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    day = int(match[3]) if match[3] else (1 if first else last)
    if not 1 <= day <= last:
        return None
    return pd.Timestamp(year, month, day)
