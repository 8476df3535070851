"""RELREC records that point at nothing: RDOMAIN names no dataset, or no record of the subject
has IDVAR = IDVARVAL there (for a dataset-level relationship, with no USUBJID, IDVAR must be a
variable of RDOMAIN)."""

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
    missing = np.zeros(len(frame), dtype=bool)
    groups = keys.groupby(["RDOMAIN", "IDVAR"], sort=False).indices
    for (domain, idvar), at in groups.items():
        parent = context.datasets.get(str(domain))
        if parent is None or idvar not in parent.frame:
            missing[at] = True
        elif "USUBJID" not in parent.frame:  # no subject's record can be found there
            missing[at] = subject_level[at]
        else:
            known = set(
                zip(parent.frame["USUBJID"], key_text(parent.frame[idvar]).to_pylist(), strict=True)
            )
            pairs = zip(subjects[at], values[at], strict=True)
            missing[at] = subject_level[at] & np.array([p not in known for p in pairs], dtype=bool)
    return rows(pd.Series(missing, index=frame.index), "IDVARVAL", frame["IDVARVAL"])
