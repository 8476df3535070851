"""ARM, ACTARMCD, ACTARM and ARMNRS from the planned arm code and actual exposure."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.study import Study

NOT_ASSIGNED = "NOT ASSIGNED"
NOT_TREATED = "ASSIGNED, NOT TREATED"


def derive(dm: DomainFrame, study: Study) -> dict[str, pd.Series]:
    """Treated subjects (RFXSTDTC present) get the planned arm as actual arm; SDTMIG 3.4 rules
    leave ARMCD/ACTARMCD null and give the reason in ARMNRS otherwise."""
    frame = dm.frame
    if not study.arms or "ARMCD" not in frame:
        return {}
    names = {arm.armcd: arm.arm for arm in study.arms}
    unknown = frame["ARMCD"].notna() & ~frame["ARMCD"].isin(list(names))
    if unknown.any():
        fail_at(frame, unknown, "arm code '{value}' is not in study.yaml arms", "ARMCD", "fix it")
    armcd = frame["ARMCD"]
    out = {}
    if "ARM" not in frame:
        out["ARM"] = armcd.map(names).astype("str").where(armcd.notna())
    treated = frame.get("RFXSTDTC", pd.Series(pd.NA, index=frame.index)).notna()
    actarmcd = frame["ACTARMCD"] if "ACTARMCD" in frame else armcd.where(treated)
    if "ACTARMCD" not in frame:
        out["ACTARMCD"] = actarmcd
    if "ACTARM" not in frame:
        out["ACTARM"] = actarmcd.map(names).astype("str").where(actarmcd.notna())
    if "ARMNRS" not in frame:
        reason = pd.Series(pd.NA, index=frame.index, dtype="str")
        reason = reason.mask(armcd.notna() & actarmcd.isna(), NOT_TREATED)
        out["ARMNRS"] = reason.mask(armcd.isna(), NOT_ASSIGNED)
    return out
