"""Which checks of CDISC CORE (its published SDTMIG rules) and of Pinnacle 21's FDA
configuration (SDTM-IG 3.4) trialbridge's rules implement, and why the others are not: the
list of external checks is data (`trialbridge/sdtm/rules/external_checks.csv`: id, our
classification of the kind of check, what it needs beyond the datasets, its CDISC ids, and
for a P21 check the CORE rules that name the same check through a shared CDISC id).

A check is implemented when a rule cites its id or the id of a check it is the same as. The
distinct checks are the CORE rules plus the P21 checks no CORE rule is the same as."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from trialbridge.conformance.rule import shipped_rules

DATA_ONLY = ("data only", "data and SDTMIG metadata")


@dataclass(frozen=True)
class Check:
    source: str  # CORE or P21
    id: str
    kind: str
    needs: str
    same_as: tuple[str, ...]


@cache
def external_checks() -> tuple[Check, ...]:
    text = resources.files("trialbridge.sdtm.rules").joinpath("external_checks.csv").read_text()
    return tuple(
        Check(row["source"], row["id"], row["kind"], row["needs"], tuple(row["same_as"].split()))
        for row in csv.DictReader(text.splitlines())
    )


def cited() -> set[str]:
    """Every P21 and CORE id a shipped rule cites."""
    return {i for r in shipped_rules() for i in r.references.p21 + r.references.core}


def distinct() -> list[Check]:
    """One entry per distinct check: every CORE rule, and the P21 checks with no CORE twin."""
    return [c for c in external_checks() if c.source == "CORE" or not c.same_as]


def implemented(check: Check, ids: set[str]) -> bool:
    if check.id in ids or set(check.same_as) & ids:
        return True
    twins = (c.id for c in external_checks() if check.id in c.same_as)  # a P21 twin of CORE
    return any(t in ids for t in twins)


def why_not(check: Check) -> str:
    """Why trialbridge does not run the check."""
    if check.needs not in DATA_ONLY:
        return f"needs {check.needs}"
    return "not implemented yet"
