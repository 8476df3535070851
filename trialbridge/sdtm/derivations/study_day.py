"""--DY, --STDY, --ENDY: days from DM.RFSTDTC, with no day 0; blank for partial dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.sdtm.derivations.dates import date_part, per_subject

PAIRS = (("DTC", "DY"), ("STDTC", "STDY"), ("ENDTC", "ENDY"))


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """Day 1 is the reference date; the day before it is -1."""
    days = (date_part(dates) - date_part(reference)).dt.days.astype("float64")
    return pd.Series(np.where(days >= 0, days + 1, days), index=dates.index)


def derive(domain: MappedDomain, dm: pd.DataFrame) -> None:
    frame = domain.frame
    prefix = domain.spec.domain
    for date_suffix, day_suffix in PAIRS:
        date_var, day_var = prefix + date_suffix, prefix + day_suffix
        if date_var in frame and domain.meta.variable(day_var) and day_var not in frame:
            frame[day_var] = study_day(frame[date_var], per_subject(frame, dm, "RFSTDTC"))
