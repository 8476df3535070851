"""Record order by the domain's SDTMIG keys (then date, then source order), and --SEQ 1..n
per subject in that order."""

from __future__ import annotations

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.sources import COLUMN, FILE, ROW


def derive(domain: MappedDomain) -> None:
    frame = domain.frame
    seq = f"{domain.spec.domain}SEQ"
    p = domain.spec.domain
    keys = [k for k in domain.meta.keys if k in frame and k != "STUDYID"]
    dates = [v for v in (f"{p}DTC", f"{p}STDTC") if v in frame and v not in keys]
    order = [*keys, *dates, FILE, ROW, COLUMN]
    frame = frame.sort_values(order, kind="stable", na_position="first", ignore_index=True)
    if domain.meta.variable(seq):
        frame[seq] = (frame.groupby("USUBJID").cumcount() + 1).astype("float64")
    domain.frame = frame
