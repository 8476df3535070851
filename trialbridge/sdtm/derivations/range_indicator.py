"""--NRIND from the standard numeric result and the standard reference range."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame


def derive(domain: DomainFrame) -> dict[str, pd.Series]:
    """LOW below --STNRLO, HIGH above --STNRHI, NORMAL otherwise; blank without a range."""
    frame, p = domain.frame, domain.code
    name = f"{p}NRIND"
    if name in frame or not domain.meta.variable(name) or f"{p}STRESN" not in frame:
        return {}
    value = frame[f"{p}STRESN"]
    low = frame.get(f"{p}STNRLO", pd.Series(np.nan, index=frame.index))
    high = frame.get(f"{p}STNRHI", pd.Series(np.nan, index=frame.index))
    ranged = value.notna() & (low.notna() | high.notna())
    result = np.select([value < low, value > high], ["LOW", "HIGH"], default="NORMAL")
    return {name: pd.Series(result, index=frame.index, dtype="str").where(ranged)}
