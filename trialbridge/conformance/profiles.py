"""Rule sets and severities as the agencies' validators give them (`validate --profile`):

- fda: the rules that name a check of Pinnacle 21's FDA configuration (SDTM-IG 3.4) or an FDA
  business or validator rule, with the configuration's severity where it sets one (it sets
  only Reject, on six checks) and the rule's own otherwise;
- pmda: the rules that name a check PMDA's Study Data Validation Rules (v2.0, 2019) list,
  with PMDA's severity;
- core: the rules that name a CDISC CORE rule, with their own severities (CORE gives none).

A rule naming several checks takes the most severe. The severities per Pinnacle 21 id are
data: `trialbridge/sdtm/rules/agency_severities.csv` (docs/validation.md says where each
column comes from)."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

from trialbridge.conformance.rule import Rule, shipped_rules

PROFILES = ("fda", "pmda", "core")
ORDER = ("Reject", "Error", "Warning", "Notice")


@cache
def agency_severities() -> dict[str, dict[str, str]]:
    """P21 id -> {"fda": ..., "pmda": ...}: the severity each sets ("" where none), and
    "in_fda" ("yes" when the FDA configuration runs the check)."""
    text = resources.files("trialbridge.sdtm.rules").joinpath("agency_severities.csv")
    rows = csv.DictReader(text.read_text().splitlines())
    return {
        row["p21_id"]: {
            "in_fda": row["in_fda_configuration"],
            "fda": row["fda_severity"],
            "pmda": row["pmda_severity"],
        }
        for row in rows
    }


def rules_for(profile: str | None) -> tuple[Rule, ...]:
    """The rules `profile` runs, each with the severity the profile gives it."""
    rules = shipped_rules()
    if profile is None:
        return rules
    chosen = []
    for rule in rules:
        severity = _severity(rule, profile)
        if severity is not None:
            chosen.append(rule if severity == rule.severity else _with(rule, severity))
    return tuple(chosen)


def _severity(rule: Rule, profile: str) -> str | None:
    """The rule's severity under the profile, None when the profile does not run it."""
    refs, known = rule.references, agency_severities()
    if profile == "core":
        return rule.severity if refs.core else None
    cited = [known[i] for i in refs.p21 if i in known]
    if profile == "fda":
        if not (any(c["in_fda"] == "yes" for c in cited) or refs.fda):
            return None
        given = [c["fda"] for c in cited if c["fda"]]
    else:
        given = [c["pmda"] for c in cited if c["pmda"]]
        if not given:
            return None
    return min(given, key=ORDER.index) if given else rule.severity


def _with(rule: Rule, severity: str) -> Rule:
    return rule.model_copy(update={"severity": severity})
