"""EX from EC, where the EC spec says `derive_ex: true`: one EX record per EC record of a dose
that was given (ECOCCUR not N, ECMOOD not SCHEDULED), the EX variables copied from the EC
variables of the same name, and EX and EC linked by --LNKID (RELREC).

A missed dose stays in EC only; a partial dose is in both with the amount given."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame, DomainSettings, Relationship
from trialbridge.sdtm.lineage import LINEAGE, SUBJECT
from trialbridge.sdtm.metadata import DomainMeta


def link_ids(ec: DomainFrame) -> dict[str, pd.Series]:
    """ECLNKID 1, 2, ... per subject in EC's record order, where the spec maps none."""
    if "ECLNKID" in ec.frame:
        return {}
    number = ec.frame.groupby("USUBJID", sort=False).cumcount() + 1
    return {"ECLNKID": number.astype("str")}


def given(ec: DomainFrame) -> pd.Series:
    """The EC records of doses given."""
    frame = ec.frame
    missed = frame.get("ECOCCUR", pd.Series(pd.NA, index=frame.index)).eq("N")
    scheduled = frame.get("ECMOOD", pd.Series(pd.NA, index=frame.index)).eq("SCHEDULED")
    return ~(missed.fillna(False).astype(bool) | scheduled.fillna(False).astype(bool))


def from_collected(ec: DomainFrame, ex_meta: DomainMeta) -> DomainFrame:
    """EX's records from EC's given doses; each EX record keeps its EC record's lineage."""
    rows = ec.frame.loc[given(ec)]
    columns: dict[str, pd.Series] = {}
    for var in ex_meta.variables:
        source = "EC" + var.name[2:] if var.name.startswith("EX") else var.name
        if source in rows and var.name != "EXSEQ":
            columns[var.name] = rows[source]
    columns["DOMAIN"] = pd.Series("EX", index=rows.index, dtype="str")
    for name in (*LINEAGE, SUBJECT):
        if name in rows:
            columns[name] = rows[name]
    frame = pd.DataFrame(columns, index=rows.index).reset_index(drop=True)
    link = Relationship.model_validate({"with": "EC", "by": {"EXLNKID": "ECLNKID"}})
    return DomainFrame("EX", ex_meta, frame, ec.where, DomainSettings(relationships=[link]))
