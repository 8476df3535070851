"""SUPP-- records whose parent record (RDOMAIN, USUBJID, IDVAR = IDVARVAL) does not exist."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.ids import key_text


@operation("supp_parent")
def supp_parent(context: Context) -> list[Issue]:
    frame = context.frame
    parent = context.datasets.get(context.dataset.name[4:])
    if parent is None or "USUBJID" not in frame:
        return rows(pd.Series(True, index=frame.index), "RDOMAIN", frame.get("RDOMAIN"))
    missing = pd.Series(False, index=frame.index)
    idvar = frame["IDVAR"].fillna("") if "IDVAR" in frame else pd.Series("", index=frame.index)
    for name, records in frame.groupby(idvar, sort=False):
        if name == "":
            known = set(parent.frame["USUBJID"])
            missing[records.index] = ~records["USUBJID"].isin(known)
        elif name not in parent.frame:
            missing[records.index] = True
        else:
            keys = key_text(parent.frame[name]).to_pylist()
            known = set(zip(parent.frame["USUBJID"], keys, strict=True))
            pairs = zip(
                records["USUBJID"], records["IDVARVAL"].astype(str).str.strip(), strict=True
            )
            missing[records.index] = [pair not in known for pair in pairs]
    return rows(missing, "IDVARVAL", frame.get("IDVARVAL"))
