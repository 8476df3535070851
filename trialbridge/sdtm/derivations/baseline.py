"""--LOBXFL / --BLFL: the last non-missing result on or before a DM reference date."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.sources import ROW
from trialbridge.errors import UserError
from trialbridge.sdtm.derivations.dates import date_part, moment, on_or_after, per_subject


def derive(domain: MappedDomain, dm: pd.DataFrame) -> None:
    """Per subject and `by` group, among rows with a result and a complete date on or before the
    reference, flag the latest (ties broken by source order). No candidate, no flag."""
    rule = domain.spec.baseline
    if rule is None:
        return
    frame = domain.frame
    p = domain.spec.domain
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
    for flag in rule.flags:
        name = p + flag
        if name in frame:
            continue  # mapped by the spec: the collected flag stands
        frame[name] = pd.Series(pd.NA, index=frame.index, dtype="str")
        frame.loc[chosen, name] = "Y"


def _check_mapped(domain: MappedDomain, needed: list[str]) -> None:
    """The variables the rule reads must be mapped: a spec may leave out any variable but
    these, when it asks for the baseline."""
    missing = next((name for name in needed if name not in domain.frame), None)
    if missing is not None:
        raise UserError(
            f"'baseline' reads {missing}, which no block of the spec maps",
            domain.spec_file,
            f"map {missing}, or remove 'baseline' from the spec",
        )
