"""SUPP-- records whose parent record (RDOMAIN, USUBJID, IDVAR = IDVARVAL) does not exist, each
named by the variable at fault: RDOMAIN when there is no parent dataset (the pooled SUPPQUAL
finds each record's through its RDOMAIN), USUBJID when a subject-level qualifier's subject is
not there, IDVAR when the parent has no such variable, IDVARVAL when no record has the value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.ids import key_text

AT_FAULT = ("RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL")


@operation("supp_parent")
def supp_parent(context: Context, by_rdomain: bool = False) -> list[Issue]:
    """`by_rdomain`: each record's parent dataset is its RDOMAIN (CO), and a record without
    one (a comment on no record) has none to find."""
    frame = context.frame
    if "USUBJID" not in frame:
        return rows(pd.Series(True, index=frame.index), "RDOMAIN", frame.get("RDOMAIN"))
    pooled = (by_rdomain or context.dataset.name == "SUPPQUAL") and "RDOMAIN" in frame
    parents = (
        frame["RDOMAIN"].astype("object").fillna("").astype(str).to_numpy()
        if pooled
        else np.full(len(frame), context.dataset.name[4:], dtype=object)
    )
    idvar = frame["IDVAR"].astype("object").fillna("") if "IDVAR" in frame else None
    idvars = idvar.to_numpy(dtype=object) if idvar is not None else np.full(len(frame), "")
    fault = np.full(len(frame), -1)
    keyed = pd.DataFrame({"parent": parents, "idvar": idvars})
    for (name, variable), at in keyed.groupby(["parent", "idvar"], sort=False).indices.items():
        if not (by_rdomain and name == ""):
            fault[at] = _faults(context, str(name), str(variable), at)
    found = [
        rows(pd.Series(fault == code, index=frame.index), variable, frame.get(variable))
        for code, variable in enumerate(AT_FAULT)
    ]
    return sorted((issue for issues in found for issue in issues), key=lambda i: i.row or 0)


def _faults(context: Context, name: str, idvar: str, at: np.ndarray) -> np.ndarray:
    """For the records `at` of one parent dataset and IDVAR: the index in AT_FAULT of what is
    wrong with each, -1 where its parent is found."""
    frame, parent = context.frame, context.datasets.get(name)
    if parent is None or "USUBJID" not in parent.frame:
        return np.zeros(len(at), dtype=int)
    subjects = frame["USUBJID"].to_numpy(dtype=object)[at]
    if idvar == "":
        missing = ~pd.Series(subjects).isin(parent.frame["USUBJID"]).to_numpy()
        return np.where(missing, 1, -1)
    if idvar not in parent.frame or "IDVARVAL" not in frame:
        return np.full(len(at), 2)
    values = frame["IDVARVAL"].astype("str").str.strip().to_numpy(dtype=object)[at]
    keys = key_text(parent.frame[idvar]).to_pylist()
    known = set(zip(parent.frame["USUBJID"], keys, strict=True))
    missing = np.array([pair not in known for pair in zip(subjects, values, strict=True)])
    return np.where(missing, 3, -1)
