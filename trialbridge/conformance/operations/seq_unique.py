"""Records whose subject (USUBJID, or POOLID for pooled records) and --SEQ another record of
the domain shares, in this dataset or in another the domain is split into (LBCH and LBHE
share LB's --SEQ values): --SEQ identifies a subject's record across the whole domain."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.build import domain_of
from trialbridge.sdtm.dataset import Dataset

WHO = ("USUBJID", "POOLID")


@operation("seq_unique")
def seq_unique(context: Context) -> list[Issue]:
    seq = context.name("--SEQ")
    if seq not in context.frame or not any(w in context.frame for w in WHO):
        return []
    mine = _keys(context.dataset, seq)
    others = [_keys(d, seq) for d in _split(context) if d is not context.dataset]
    combined = pd.concat([mine, *others], ignore_index=True)
    repeated = combined.duplicated(keep=False).to_numpy()[: len(mine)]
    repeated = repeated & mine.notna().all(axis=1).to_numpy()
    return rows(pd.Series(repeated, index=context.frame.index), seq, context.frame[seq])


def _split(context: Context) -> list[Dataset]:
    """The datasets holding this dataset's domain (itself included)."""
    return [d for d in context.datasets.values() if domain_of(d) == context.domain]


def _keys(dataset: Dataset, seq: str) -> pd.DataFrame:
    """(who, --SEQ) of each record as text and number; who is USUBJID or, where it is
    missing, POOLID."""
    frame = dataset.frame
    who = pd.Series(np.nan, index=frame.index, dtype=object)
    for name in reversed(WHO):
        if name in frame:
            values = frame[name].astype("object")
            who = values.where(values.notna(), who)
    number = pd.to_numeric(frame[seq], errors="coerce") if seq in frame else np.nan
    return pd.DataFrame({"who": who.to_numpy(), "seq": np.asarray(number, dtype="float64")})
