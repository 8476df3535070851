"""AGE and AGEU from two complete DM dates, unless AGE was collected and mapped."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.sdtm.derivations.dates import date_part
from trialbridge.study import Study


def derive(dm: MappedDomain, study: Study) -> None:
    frame = dm.frame
    if study.age is not None and "AGE" not in frame:
        birth = date_part(frame.get(study.age.birth, _empty(frame)))
        at = date_part(frame.get(study.age.at, _empty(frame)))
        before_birthday = (at.dt.month < birth.dt.month) | (
            (at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day)
        )
        frame["AGE"] = (at.dt.year - birth.dt.year - before_birthday.astype(int)).astype("float64")
        frame.loc[birth.isna() | at.isna(), "AGE"] = float("nan")
    if "AGE" in frame and "AGEU" not in frame:
        unit = study.age.unit if study.age else "YEARS"
        frame["AGEU"] = pd.Series(unit, index=frame.index, dtype="str").where(frame["AGE"].notna())


def _empty(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=frame.index, dtype="str")
