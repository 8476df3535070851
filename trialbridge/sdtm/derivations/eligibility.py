"""IE from the criteria in study.yaml: each record's IETEST and IECAT (and IESCAT) by its
IETESTCD, and only the exceptions kept, as SDTMIG wants IE: inclusion criteria not met and
exclusion criteria met. IEORRES answers "was the criterion met?" (Y/N)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.sdtm.lookup import lookup
from trialbridge.study import Criterion


def derive(ie: DomainFrame, criteria: list[Criterion]) -> dict[str, pd.Series]:
    """IETEST, IECAT, IESCAT the records lack, from the criterion their code names."""
    frame = ie.frame
    if "IETESTCD" not in frame:
        return {}
    by_code = {c.code: c for c in criteria}
    unknown = frame["IETESTCD"].notna() & ~frame["IETESTCD"].isin(list(by_code))
    if unknown.any():
        fail_at(
            frame,
            unknown,
            "IETESTCD '{value}' is not a criterion in study.yaml",
            "IETESTCD",
            "add it to 'criteria' in study.yaml, or recode the source to a criterion's code",
        )
    out = {}
    for name, field in (("IETEST", "text"), ("IECAT", "category"), ("IESCAT", "subcategory")):
        values = {code: getattr(c, field) for code, c in by_code.items()}
        if name not in frame and any(v is not None for v in values.values()):
            out[name] = lookup(frame["IETESTCD"], values).astype("str")
    return out


@dataclass(frozen=True)
class Answers:
    """How IE's records split: those submitted, and the counts of those left out."""

    kept: pd.Series  # per record: submitted
    as_wanted: int  # inclusion Y, exclusion N
    unanswered: int  # no IEORRES


def exceptions(ie: DomainFrame) -> Answers:
    """The records IE submits: an inclusion criterion answered N, an exclusion one Y, and any
    answer other than Y or N (left for validation to report against the NY codelist)."""
    frame = ie.frame
    if not {"IECAT", "IEORRES"} <= set(frame):
        return Answers(pd.Series(True, index=frame.index), 0, 0)
    answer = frame["IEORRES"].str.strip().str.upper()
    inclusion, exclusion = frame["IECAT"] == "INCLUSION", frame["IECAT"] == "EXCLUSION"
    wanted = ((inclusion & (answer == "Y")) | (exclusion & (answer == "N"))).fillna(False)
    unanswered = answer.isna() | (answer == "")
    kept = ~(wanted.astype(bool) | unanswered.astype(bool))
    return Answers(kept, int(wanted.sum()), int(unanswered.sum()))
