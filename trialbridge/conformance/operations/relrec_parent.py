"""RELREC records that point at nothing: RDOMAIN names no dataset, or no record of the subject
has IDVAR = IDVARVAL there (for a dataset-level relationship, with no USUBJID, IDVAR must be a
variable of RDOMAIN)."""

from __future__ import annotations

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
    missing = pd.Series(False, index=frame.index)
    keys = frame[list(NEEDED)].fillna("")
    for (domain, idvar), records in keys.groupby(["RDOMAIN", "IDVAR"], sort=False):
        parent = context.datasets.get(str(domain))
        if parent is None or idvar not in parent.frame:
            missing[records.index] = True
            continue
        subject_level = populated(records["USUBJID"])
        keys = key_text(parent.frame[idvar]).to_pylist()
        known = set(zip(parent.frame["USUBJID"], keys, strict=True))
        pairs = zip(records["USUBJID"], records["IDVARVAL"].astype("str").str.strip(), strict=True)
        absent = pd.Series([p not in known for p in pairs], index=records.index)
        missing[records.index] = subject_level & absent
    return rows(missing, "IDVARVAL", frame["IDVARVAL"])
