"""--LOBXFL / --BLFL: the last non-missing result on or before a DM reference date."""

from __future__ import annotations

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.derivations.dates import date_part, moment, on_or_after, per_subject
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import ROW


def derive(domain: DomainFrame, dm: pd.DataFrame) -> dict[str, pd.Series]:
    """Per subject and `by` group, among rows with a result and a complete date on or before the
    reference, flag the latest (ties broken by source order). No candidate, no flag."""
    rule = domain.settings.baseline
    if rule is None:
        return {}
    frame, p = domain.frame, domain.code
    _check_mapped(domain, [f"{p}DTC", *rule.by])
    date = frame[f"{p}DTC"]
    result = frame.get(f"{p}STRESC", frame.get(f"{p}ORRES"))
    if result is None:
        _check_mapped(domain, [f"{p}ORRES"])
    reference = per_subject(frame, dm, rule.at)
    candidate = result.notna() & date_part(date).notna() & reference.notna()
    candidate &= on_or_after(reference, date)
    if f"{p}STAT" in frame:
        candidate &= frame[f"{p}STAT"].isna()
    stamp, _ = moment(date)
    pool = frame.loc[candidate, ["USUBJID", *rule.by, ROW]].assign(__stamp=stamp[candidate])
    pool = pool.sort_values(["USUBJID", *rule.by, "__stamp", ROW], kind="stable")
    chosen = pool.groupby(["USUBJID", *rule.by], dropna=False).tail(1).index
    flag = pd.Series(pd.NA, index=frame.index, dtype="str")
    flag.loc[chosen] = "Y"
    # a flag the spec maps stands as collected
    return {p + name: flag for name in rule.flags if p + name not in frame}


def _check_mapped(domain: DomainFrame, needed: list[str]) -> None:
    """The variables the rule reads must be mapped: a spec may leave out any variable but
    these, when it asks for the baseline."""
    missing = next((name for name in needed if name not in domain.frame), None)
    if missing is not None:
        raise UserError(
            f"'baseline' reads {missing}, which no block of the spec maps",
            domain.where,
            f"map {missing}, or remove 'baseline' from the spec",
        )
