"""Record order by the domain's SDTMIG keys (then date, then source order), and --SEQ 1..n
per subject in that order."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import COLUMN, FILE, ROW


def order(domain: DomainFrame) -> pd.DataFrame:
    """The records sorted by key, date and lineage (a fresh frame, numbered from 0)."""
    frame, p = domain.frame, domain.code
    keys = [k for k in domain.meta.keys if k in frame and k != "STUDYID"]
    dates = [v for v in (f"{p}DTC", f"{p}STDTC") if v in frame and v not in keys]
    lineage = [c for c in (FILE, ROW, COLUMN) if c in frame]
    return frame.sort_values(
        [*keys, *dates, *lineage], kind="stable", na_position="first", ignore_index=True
    )


def derive(domain: DomainFrame) -> dict[str, pd.Series]:
    """--SEQ numbering each subject's records in their current order, if the domain has it."""
    seq = f"{domain.code}SEQ"
    if not domain.meta.variable(seq):
        return {}
    return {seq: (domain.frame.groupby("USUBJID").cumcount() + 1).astype("float64")}
