"""DM reference dates (RFSTDTC, RFXSTDTC, ...) as the first or last of dates named in study.yaml."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.sdtm.derivations.dates import COMPLETE_DATE
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lookup import lookup
from trialbridge.study import ReferenceRule


def derive(
    dm: pd.DataFrame, domains: dict[str, DomainFrame], rules: dict[str, ReferenceRule]
) -> dict[str, pd.Series]:
    """Apply the rules in order, so a later rule may use an earlier result."""
    out: dict[str, pd.Series] = {}
    for variable, rule in rules.items():
        out[variable] = _apply(rule, dm.assign(**out), domains)
    return out


def _apply(rule: ReferenceRule, dm: pd.DataFrame, domains: dict[str, DomainFrame]) -> pd.Series:
    pairs = [p for p in (_dates(ref, dm, domains) for ref in rule.refs) if len(p)]
    if not pairs:  # no subject has any of the dates
        return pd.Series(pd.NA, index=dm.index, dtype="str")
    stacked = pd.concat(pairs, ignore_index=True)
    # ISO 8601 text of complete dates sorts chronologically (a date sorts before its times):
    # the distinct values are ranked once, and each subject keeps its lowest or highest rank
    rank, distinct = pd.factorize(stacked["value"], sort=True)
    complete = pd.Series(distinct, dtype="str").str.match(COMPLETE_DATE).fillna(False)
    keep = complete.to_numpy(bool)[rank]
    # subjects are ranked as the text column, then renumbered over the records kept
    every, names = pd.factorize(stacked["USUBJID"])
    subject, kept = pd.factorize(every[keep])
    subjects = names.take(kept)
    ranks = rank[keep]
    if rule.first:
        best = np.full(len(subjects), len(distinct), dtype=np.int64)
        np.minimum.at(best, subject, ranks)
    else:
        best = np.full(len(subjects), -1, dtype=np.int64)
        np.maximum.at(best, subject, ranks)
    pick = pd.Series(np.asarray(distinct, dtype=object)[best], index=subjects, dtype="str")
    return lookup(dm["USUBJID"], pick).astype("str")


def _dates(ref: str, dm: pd.DataFrame, domains: dict[str, DomainFrame]) -> pd.DataFrame:
    """(USUBJID, value) pairs for DOMAIN.VARIABLE, with * for any domain and -- for its prefix."""
    domain_part, variable = ref.split(".")
    targets = domains.values() if domain_part == "*" else [domains.get(domain_part)]
    frames = []
    for target in targets:
        if target is None:
            continue
        frame = dm if target.code == "DM" else target.frame
        name = variable.replace("--", target.code, 1)
        if name in frame:
            frames.append(
                pd.DataFrame({"USUBJID": frame["USUBJID"], "value": frame[name].astype("str")})
                .dropna()
                .reset_index(drop=True)
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
