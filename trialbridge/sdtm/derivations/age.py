"""AGE and AGEU from two complete DM dates, unless AGE was collected and mapped."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.derivations.dates import date_part
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.study import Study


def derive(dm: DomainFrame, study: Study) -> dict[str, pd.Series]:
    """AGE in whole years between the two dates study.yaml names (none unless both are
    complete), and AGEU beside every AGE, derived or collected."""
    frame = dm.frame
    derived = {}
    age = frame.get("AGE")
    if study.age is not None and age is None:
        birth = date_part(frame.get(study.age.birth, _empty(frame)))
        at = date_part(frame.get(study.age.at, _empty(frame)))
        before_birthday = (at.dt.month < birth.dt.month) | (
            (at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day)
        )
        years = (at.dt.year - birth.dt.year - before_birthday.astype(int)).astype("float64")
        age = derived["AGE"] = years.mask(birth.isna() | at.isna())
    if age is not None and "AGEU" not in frame:
        unit = study.age.unit if study.age else "YEARS"
        derived["AGEU"] = pd.Series(unit, index=frame.index, dtype="str").where(age.notna())
    return derived


def _empty(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=frame.index, dtype="str")
