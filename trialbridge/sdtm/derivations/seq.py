"""--SEQ: 1..n per subject, in the order of the domain's keys, then source order (stable)."""

from __future__ import annotations

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.sources import COLUMN, FILE, ROW


def derive(domain: MappedDomain) -> None:
    frame = domain.frame
    seq = f"{domain.spec.domain}SEQ"
    if not domain.meta.variable(seq):
        return
    p = domain.spec.domain
    keys = [k for k in domain.meta.keys if k in frame and k != "STUDYID"]
    dates = [v for v in (f"{p}DTC", f"{p}STDTC") if v in frame and v not in keys]
    order = [*keys, *dates, FILE, ROW, COLUMN]
    frame = frame.sort_values(order, kind="stable", na_position="first", ignore_index=True)
    frame[seq] = (frame.groupby("USUBJID").cumcount() + 1).astype("float64")
    domain.frame = frame
