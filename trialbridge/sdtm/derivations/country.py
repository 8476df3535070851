"""COUNTRY from the site table in study.yaml, unless mapped."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.study import Study


def derive(dm: DomainFrame, study: Study) -> dict[str, pd.Series]:
    frame = dm.frame
    if "COUNTRY" in frame or "SITEID" not in frame:
        return {}
    countries = study.site_country()
    unknown = frame["SITEID"].notna() & ~frame["SITEID"].isin(list(countries))
    if unknown.any():
        fail_at(frame, unknown, "site '{value}' is not in study.yaml sites", "SITEID", "add it")
    return {"COUNTRY": frame["SITEID"].map(countries).astype("str")}
