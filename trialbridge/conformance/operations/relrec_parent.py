"""RELREC records that point at nothing, each named by the variable at fault: RDOMAIN names no
dataset; IDVAR is not a variable of it (a dataset-level relationship, with no USUBJID, needs
only that); or no record of the subject has IDVAR = IDVARVAL there."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.ids import key_text

NEEDED = ("RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL")


@operation("relrec_parent")
def relrec_parent(context: Context) -> list[Issue]:
    frame = context.frame
    if not all(n in frame for n in NEEDED):
        return []
    keys = frame[list(NEEDED)].astype("object").fillna("")  # a damaged key may be numeric
    subjects = keys["USUBJID"].to_numpy(dtype=object)
    values = keys["IDVARVAL"].astype("str").str.strip().to_numpy(dtype=object)
    subject_level = populated(keys["USUBJID"]).to_numpy(dtype=bool)
    no_dataset, no_variable, missing = (np.zeros(len(frame), dtype=bool) for _ in range(3))
    groups = keys.groupby(["RDOMAIN", "IDVAR"], sort=False).indices
    for (domain, idvar), at in groups.items():
        parent = context.datasets.get(str(domain))
        if parent is None:
            no_dataset[at] = True
        elif idvar not in parent.frame:
            no_variable[at] = True
        elif "USUBJID" not in parent.frame:  # no subject's record can be found there
            missing[at] = subject_level[at]
        else:
            known = set(
                zip(parent.frame["USUBJID"], key_text(parent.frame[idvar]).to_pylist(), strict=True)
            )
            pairs = zip(subjects[at], values[at], strict=True)
            missing[at] = subject_level[at] & np.array([p not in known for p in pairs], dtype=bool)
    index = frame.index
    return sorted(
        rows(pd.Series(no_dataset, index=index), "RDOMAIN", frame["RDOMAIN"])
        + rows(pd.Series(no_variable, index=index), "IDVAR", frame["IDVAR"])
        + rows(pd.Series(missing, index=index), "IDVARVAL", frame["IDVARVAL"]),
        key=lambda issue: issue.row or 0,
    )
