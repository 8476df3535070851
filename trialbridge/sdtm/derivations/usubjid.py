"""USUBJID: built in DM from the study's parts, carried to other domains by SUBJID."""

from __future__ import annotations

from trialbridge.converters.engine import SUBJECT, MappedDomain
from trialbridge.converters.transforms import fail_at
from trialbridge.errors import UserError
from trialbridge.sdtm.lookup import lookup
from trialbridge.study import Study


def derive_dm(dm: MappedDomain, study: Study) -> None:
    frame = dm.frame
    frame["STUDYID"] = study.studyid
    frame["DOMAIN"] = "DM"
    if "SUBJID" not in frame:
        frame["SUBJID"] = frame[SUBJECT]
    missing = [p for p in study.usubjid if p not in frame]
    if missing:
        raise UserError(
            f"USUBJID needs {', '.join(missing)}, which the DM spec does not map",
            dm.spec_file,
            "map it, or change 'usubjid' in study.yaml",
        )
    for part in study.usubjid:
        blank = frame[part].isna()
        if blank.any():
            fail_at(
                frame,
                blank,
                f"{part} is missing, so USUBJID cannot be built",
                part,
                f"fill {part} for every subject",
                "",
            )
    parts = [frame[p].astype("str") for p in study.usubjid]
    usubjid = parts[0]
    for part in parts[1:]:
        usubjid = usubjid + study.usubjid_separator + part
    frame["USUBJID"] = usubjid
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
    same = frame["USUBJID"].duplicated(keep="first") & ~dup
    if same.any():
        fail_at(
            frame,
            same,
            "USUBJID '{value}' is built for two subjects",
            "USUBJID",
            "add SUBJID to 'usubjid' in study.yaml",
            "",
        )


def derive_other(domain: MappedDomain, dm: MappedDomain, study: Study) -> None:
    frame = domain.frame
    frame["STUDYID"] = study.studyid
    frame["DOMAIN"] = domain.spec.domain
    ids = dm.frame.set_index(SUBJECT)["USUBJID"]
    frame["USUBJID"] = lookup(frame[SUBJECT], ids)
    unknown = frame["USUBJID"].isna()
    if unknown.any():
        fail_at(
            frame,
            unknown,
            "subject '{value}' is not in demographics",
            SUBJECT,
            "add the subject to DM or fix the id",
            "subject id",
        )
