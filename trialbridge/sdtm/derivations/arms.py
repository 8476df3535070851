"""ARM, ACTARMCD, ACTARM and ARMNRS from the planned arm code and actual exposure."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.transforms import fail_at
from trialbridge.study import Study

NOT_ASSIGNED = "NOT ASSIGNED"
NOT_TREATED = "ASSIGNED, NOT TREATED"


def derive(dm: MappedDomain, study: Study) -> None:
    """Treated subjects (RFXSTDTC present) get the planned arm as actual arm; SDTMIG 3.4 rules
    leave ARMCD/ACTARMCD null and give the reason in ARMNRS otherwise."""
    frame = dm.frame
    if not study.arms or "ARMCD" not in frame:
        return
    names = {arm.armcd: arm.arm for arm in study.arms}
    unknown = frame["ARMCD"].notna() & ~frame["ARMCD"].isin(list(names))
    if unknown.any():
        fail_at(frame, unknown, "arm code '{value}' is not in study.yaml arms", "ARMCD", "fix it")
    if "ARM" not in frame:
        frame["ARM"] = frame["ARMCD"].map(names).astype("str").where(frame["ARMCD"].notna())
    treated = frame.get("RFXSTDTC", pd.Series(pd.NA, index=frame.index)).notna()
    if "ACTARMCD" not in frame:
        frame["ACTARMCD"] = frame["ARMCD"].where(treated)
    if "ACTARM" not in frame:
        frame["ACTARM"] = (
            frame["ACTARMCD"].map(names).astype("str").where(frame["ACTARMCD"].notna())
        )
    if "ARMNRS" not in frame:
        reason = pd.Series(pd.NA, index=frame.index, dtype="str")
        reason = reason.mask(frame["ARMCD"].notna() & frame["ACTARMCD"].isna(), NOT_TREATED)
        frame["ARMNRS"] = reason.mask(frame["ARMCD"].isna(), NOT_ASSIGNED)
