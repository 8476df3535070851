"""SUPP-- records whose parent record (RDOMAIN, USUBJID, IDVAR = IDVARVAL) does not exist."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.ids import key_text


@operation("supp_parent")
def supp_parent(context: Context) -> list[Issue]:
    frame = context.frame
    parent = context.datasets.get(context.dataset.name[4:])
    if parent is None or "USUBJID" not in frame or "USUBJID" not in parent.frame:
        return rows(pd.Series(True, index=frame.index), "RDOMAIN", frame.get("RDOMAIN"))
    subjects = frame["USUBJID"].to_numpy(dtype=object)
    values = (
        frame["IDVARVAL"].astype("str").str.strip().to_numpy(dtype=object)
        if "IDVARVAL" in frame
        else None
    )
    idvar = frame["IDVAR"].fillna("") if "IDVAR" in frame else pd.Series("", index=frame.index)
    missing = np.zeros(len(frame), dtype=bool)
    for name, at in frame.groupby(idvar.to_numpy(), sort=False).indices.items():
        if name == "":
            missing[at] = ~pd.Series(subjects[at]).isin(parent.frame["USUBJID"]).to_numpy()
        elif values is None or name not in parent.frame:
            missing[at] = True
        else:
            keys = key_text(parent.frame[name]).to_pylist()
            known = set(zip(parent.frame["USUBJID"], keys, strict=True))
            pairs = zip(subjects[at], values[at], strict=True)
            missing[at] = [pair not in known for pair in pairs]
    return rows(pd.Series(missing, index=frame.index), "IDVARVAL", frame.get("IDVARVAL"))
