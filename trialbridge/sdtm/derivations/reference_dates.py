"""DM reference dates (RFSTDTC, RFXSTDTC, ...) as the first or last of dates named in study.yaml."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.sdtm.derivations.dates import COMPLETE_DATE
from trialbridge.study import ReferenceRule, Study


def derive(dm: MappedDomain, domains: dict[str, MappedDomain], study: Study) -> None:
    """Apply the rules in study.yaml order, so a later rule may use an earlier result."""
    for variable, rule in study.reference_dates.items():
        dm.frame[variable] = _apply(rule, dm, domains)


def _apply(rule: ReferenceRule, dm: MappedDomain, domains: dict[str, MappedDomain]) -> pd.Series:
    pairs = [_dates(ref, dm, domains) for ref in rule.refs]
    stacked = pd.concat([p for p in pairs if len(p)], ignore_index=True)
    if stacked.empty:
        return pd.Series(pd.NA, index=dm.frame.index, dtype="str")
    stacked = stacked.loc[stacked["value"].str.match(COMPLETE_DATE).fillna(False).astype(bool)]
    # ISO 8601 text of complete dates sorts chronologically (a date sorts before its times)
    ordered = stacked.sort_values(["USUBJID", "value"], kind="stable")
    pick = (
        ordered.groupby("USUBJID")["value"].first()
        if rule.first
        else ordered.groupby("USUBJID")["value"].last()
    )
    return dm.frame["USUBJID"].map(pick).astype("str").where(dm.frame["USUBJID"].isin(pick.index))


def _dates(ref: str, dm: MappedDomain, domains: dict[str, MappedDomain]) -> pd.DataFrame:
    """(USUBJID, value) pairs for DOMAIN.VARIABLE, with * for any domain and -- for its prefix."""
    domain_part, variable = ref.split(".")
    targets = domains.values() if domain_part == "*" else [domains.get(domain_part)]
    frames = []
    for target in targets:
        if target is None:
            continue
        frame = dm.frame if target.spec.domain == "DM" else target.frame
        name = variable.replace("--", target.spec.domain, 1)
        if name in frame:
            frames.append(
                pd.DataFrame({"USUBJID": frame["USUBJID"], "value": frame[name].astype("str")})
                .dropna()
                .reset_index(drop=True)
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
