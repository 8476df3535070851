"""--DY, --STDY, --ENDY: days from DM.RFSTDTC, with no day 0; blank for partial dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.sdtm.derivations.dates import date_part, per_subject
from trialbridge.sdtm.domain_frame import DomainFrame

PAIRS = (("DTC", "DY"), ("STDTC", "STDY"), ("ENDTC", "ENDY"))


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Day 1 is the reference date; the day before it is -1."""
    days = (date_part(dates) - date_part(reference)).dt.days.astype("float64")
    return pd.Series(np.where(days >= 0, days + 1, days), index=dates.index)


def derive(domain: DomainFrame, dm: pd.DataFrame) -> dict[str, pd.Series]:
    """The study days the domain's metadata has and its records lack, from DM.RFSTDTC."""
    frame, prefix = domain.frame, domain.code
    days = {}
    for date_suffix, day_suffix in PAIRS:
        date_var, day_var = prefix + date_suffix, prefix + day_suffix
        if date_var in frame and domain.meta.variable(day_var) and day_var not in frame:
            days[day_var] = study_day(frame[date_var], per_subject(frame, dm, "RFSTDTC"))
    return days
