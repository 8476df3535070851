"""SUPP-- datasets from the non-standard variables a spec declares under 'supplemental'."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import LINEAGE
from trialbridge.sdtm.metadata import domain_meta


def split(domain: DomainFrame) -> Dataset | None:
    """One SUPP record per non-missing value. Records are identified by --SEQ (DM by
    USUBJID alone, so IDVAR and IDVARVAL stay empty there)."""
    declared = domain.settings.supplemental
    if not declared:
        return None
    frame = domain.frame
    seq = f"{domain.code}SEQ"
    pieces = []
    for qnam, decl in declared.items():
        if qnam not in frame:
            continue
        rows = frame.loc[frame[qnam].notna()]
        piece = pd.DataFrame(
            {
                "STUDYID": rows["STUDYID"],
                "RDOMAIN": domain.code,
                "USUBJID": rows["USUBJID"],
                "IDVAR": seq if seq in rows else pd.NA,
                "IDVARVAL": rows[seq].map("{:.0f}".format) if seq in rows else pd.NA,
                "QNAM": qnam,
                "QLABEL": decl.label,
                "QVAL": rows[qnam].astype("str"),
                "QORIG": decl.origin,
                "QEVAL": decl.evaluator,
                "__order": rows.get(seq, 0),
            }
        )
        for column in LINEAGE:
            piece[column] = rows[column]
        pieces.append(piece)
    if not pieces:
        return None
    supp = pd.concat(pieces, ignore_index=True)
    supp = supp.sort_values(["USUBJID", "__order", "QNAM"], kind="stable")
    name = f"SUPP{domain.code}"
    return finalize(name, domain_meta(name), supp)
