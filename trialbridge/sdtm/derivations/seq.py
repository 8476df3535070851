"""Record order by the domain's SDTMIG keys (then date, then source order), and --SEQ 1..n
per subject in that order."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import COLUMN, FILE, ROW


def order(domain: DomainFrame) -> pd.DataFrame:
    """The records sorted by key, date and lineage (a fresh frame, numbered from 0)."""
    frame, p = domain.frame, domain.code
    keys = [k for k in domain.meta.keys if k in frame and k != "STUDYID"]
    dates = [v for v in (f"{p}DTC", f"{p}STDTC") if v in frame and v not in keys]
    lineage = [c for c in (FILE, ROW, COLUMN) if c in frame]
    by = list(dict.fromkeys([*keys, *dates, *lineage]))
    if frame.empty or not by:
        return frame.reset_index(drop=True)
    # Arrow sorts the key columns in one stable pass (missing first, as SDTM orders them);
    # the frame is only taken when the order changes
    table = pa.Table.from_pandas(frame[by], preserve_index=False)
    indices = pc.sort_indices(table, [(c, "ascending", "at_start") for c in by])
    positions = indices.to_numpy()
    if (positions[1:] > positions[:-1]).all():
        return frame.reset_index(drop=True)
    return frame.take(positions).reset_index(drop=True)


def derive(domain: DomainFrame) -> dict[str, pd.Series]:
    """--SEQ numbering each subject's records in their current order, if the domain has it."""
    seq = f"{domain.code}SEQ"
    if not domain.meta.variable(seq):
        return {}
    return {seq: (domain.frame.groupby("USUBJID").cumcount() + 1).astype("float64")}
