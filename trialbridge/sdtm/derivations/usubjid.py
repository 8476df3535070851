"""USUBJID: built in DM from the study's parts, carried to other domains by SUBJID."""

from __future__ import annotations

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import SUBJECT, fail_at
from trialbridge.sdtm.lookup import lookup
from trialbridge.study import Study


def derive_dm(dm: DomainFrame, study: Study) -> dict[str, pd.Series]:
    """STUDYID, DOMAIN, SUBJID (the source's subject id unless mapped) and USUBJID from the
    parts study.yaml names; each subject once, each USUBJID once."""
    frame = dm.frame
    made = {
        "STUDYID": _constant(study.studyid, frame.index),
        "DOMAIN": _constant("DM", frame.index),
        "SUBJID": frame["SUBJID"] if "SUBJID" in frame else frame[SUBJECT],
    }
    parts = {p: made[p] if p in made else frame.get(p) for p in study.usubjid}
    missing = [p for p, values in parts.items() if values is None]
    if missing:
        raise UserError(
            f"USUBJID needs {', '.join(missing)}, which the DM spec does not map",
            dm.where,
            "map it, or change 'usubjid' in study.yaml",
        )
    shown = frame.assign(**parts)
    for part, values in parts.items():
        blank = values.isna()
        if blank.any():
            fail_at(
                shown,
                blank,
                f"{part} is missing, so USUBJID cannot be built",
                part,
                f"fill {part} for every subject",
                "",
            )
    texts = [values.astype("str") for values in parts.values()]
    usubjid = texts[0]
    for text in texts[1:]:
        usubjid = usubjid + study.usubjid_separator + text
    dup = frame[SUBJECT].duplicated(keep="first")
    if dup.any():
        fail_at(
            frame,
            dup,
            "subject '{value}' appears twice in demographics",
            SUBJECT,
            "keep one record per subject",
            "subject id",
        )
    same = usubjid.duplicated(keep="first") & ~dup
    if same.any():
        fail_at(
            frame.assign(USUBJID=usubjid),
            same,
            "USUBJID '{value}' is built for two subjects",
            "USUBJID",
            "add SUBJID to 'usubjid' in study.yaml",
            "",
        )
    return {**made, "USUBJID": usubjid}


def derive_other(domain: DomainFrame, dm: pd.DataFrame, study: Study) -> dict[str, pd.Series]:
    """STUDYID, DOMAIN, and USUBJID looked up from DM by the source's subject id."""
    frame = domain.frame
    ids = dm.set_index(SUBJECT)["USUBJID"]
    usubjid = lookup(frame[SUBJECT], ids)
    unknown = usubjid.isna()
    if unknown.any():
        fail_at(
            frame,
            unknown,
            "subject '{value}' is not in demographics",
            SUBJECT,
            "add the subject to DM or fix the id",
            "subject id",
        )
    return {
        "STUDYID": _constant(study.studyid, frame.index),
        "DOMAIN": _constant(domain.code, frame.index),
        "USUBJID": usubjid,
    }


def _constant(value: str, index: pd.Index) -> pd.Series:
    return pd.Series(value, index=index, dtype="str")
