"""SE: each subject's actual elements, from the element start rules in study.yaml."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.derivations.epoch import element_starts
from trialbridge.sdtm.derivations.study_day import study_day
from trialbridge.sdtm.trial_design.frames import dataset
from trialbridge.study import Study


def build(study: Study, dm: Dataset) -> Dataset:
    """An element starts at its rule's date; it ends where the subject's next element starts,
    the last one at RFPENDTC. Elements a subject never reached are left out."""
    frame = dm.frame
    arm = frame["ACTARMCD"].fillna(frame["ARMCD"]) if "ACTARMCD" in frame else frame["ARMCD"]
    elements = {e.etcd: e for e in study.elements}
    pieces = []
    for planned in study.arms:
        subjects = frame.loc[arm == planned.armcd]
        for order, etcd in enumerate(planned.elements, start=1):
            starts = subjects["USUBJID"].map(element_starts(frame, study, etcd))
            pieces.append(
                pd.DataFrame(
                    {
                        "USUBJID": subjects["USUBJID"],
                        "ETCD": etcd,
                        "ELEMENT": elements[etcd].element,
                        "TAETORD": float(order),
                        "EPOCH": elements[etcd].epoch,
                        "SESTDTC": starts,
                    }
                )
            )
    if not pieces:
        return dataset("SE", [], study.studyid)
    se = pd.concat(pieces, ignore_index=True).dropna(subset=["SESTDTC"])
    se = se.sort_values(["USUBJID", "TAETORD"], kind="stable", ignore_index=True)
    following = se.groupby("USUBJID")["SESTDTC"].shift(-1)
    last = se["USUBJID"].map(frame.set_index("USUBJID")["RFPENDTC"])
    se["SEENDTC"] = following.fillna(last)
    reference = se["USUBJID"].map(frame.set_index("USUBJID")["RFSTDTC"])
    se["SESTDY"] = study_day(se["SESTDTC"], reference)
    se["SEENDY"] = study_day(se["SEENDTC"], reference)
    se["SESEQ"] = (se.groupby("USUBJID").cumcount() + 1).astype("float64")
    return dataset("SE", se.to_dict("records"), study.studyid)
