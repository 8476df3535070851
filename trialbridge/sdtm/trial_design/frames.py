"""Shared helpers: a finalized Dataset from plain rows built in memory (no source lineage)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta


def dataset(name: str, rows: list[dict[str, Any]] | pd.DataFrame, study_id: str) -> Dataset:
    """Rows (or a frame) -> a finalized dataset of domain `name`, with STUDYID and DOMAIN
    filled in."""
    meta = domain_meta(name)
    if isinstance(rows, pd.DataFrame):
        frame = rows[sorted(rows.columns)].copy()
    else:
        frame = pd.DataFrame(rows, columns=sorted({k for r in rows for k in r}) or None)
    frame.insert(0, "STUDYID", study_id)
    if meta.variable("DOMAIN"):
        frame.insert(1, "DOMAIN", name)
    return finalize(name, meta, frame)
