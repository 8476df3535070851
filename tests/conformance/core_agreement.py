"""trialbridge's verdicts on CDISC CORE's own published test cases (re-expressed in
core_cases/CORE-nnnnnn.yaml): for each CORE id a rule cites, every rule citing it runs on each
case with CORE's expected results, and the case agrees when the same records are flagged
(dataset and record) and each of our findings on a record names a variable CORE names for
it (a finding about a whole dataset is matched by dataset alone)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from trialbridge.conformance import engine, fixtures
from trialbridge.conformance.rule import Rule, shipped_rules
from trialbridge.sdtm.ct import shipped_terminology

CASES = Path(__file__).parent / "core_cases"
# CORE names a finding about the whole submission (no DM, say) as dataset STUDY
SUBMISSION = {"STUDY": ""}

Place = tuple[str, int | None]


@dataclass(frozen=True)
class Outcome:
    core: str
    case: str
    rules: tuple[str, ...]
    agrees: bool
    expected: dict[Place, frozenset[str]]
    found: dict[Place, frozenset[str]]

    def difference(self) -> str:
        """What differs, for the disagreement list and assertion messages."""
        missed = sorted(set(self.expected) - set(self.found), key=str)
        extra = sorted(set(self.found) - set(self.expected), key=str)
        wrong = [
            (p, sorted(self.found[p]), sorted(self.expected[p]))
            for p in sorted(set(self.found) & set(self.expected), key=str)
            if not _named(p, set(self.found[p]), set(self.expected[p]))
        ]
        return f"missed {missed}; extra {extra}; other variables {wrong}"


@cache
def files() -> dict[str, dict[str, Any]]:
    return {
        path.stem: yaml.safe_load(path.read_text()) for path in sorted(CASES.glob("CORE-*.yaml"))
    }


def citing() -> dict[str, list[Rule]]:
    """CORE id -> the shipped rules that cite it."""
    rules: dict[str, list[Rule]] = defaultdict(list)
    for rule in shipped_rules():
        for core in rule.references.core:
            rules[core].append(rule)
    return dict(rules)


def outcomes(as_published: bool = False) -> list[Outcome]:
    """Every judged case of every cited CORE id: an SDTMIG case whose expected results CORE
    publishes (cases of SENDIG or the Tobacco IG are for standards trialbridge does not check);
    `as_published`: against CORE's results as published, flawed or not."""
    found = []
    for core, rules in sorted(citing().items()):
        for case in files()[core]["cases"]:
            if as_published and case.get("expect") is not None:
                case = {k: v for k, v in case.items() if k != "sdtmig"}
            if _not_judged(case) is None:
                found.append(_judged(core, case, tuple(rules)))
    return found


def _not_judged(case: dict[str, Any]) -> str | None:
    """Why a case is not judged, or None."""
    if not case["standard"].startswith("SDTMIG"):
        return f"a {case['standard']} case (a standard other than SDTMIG)"
    if case.get("expect") is None and "sdtmig" not in case:
        return case.get("flaw", "no expected results")
    return None


def _judged(core: str, case: dict[str, Any], rules: tuple[Rule, ...]) -> Outcome:
    spec = case["datasets"]
    findings = engine.run(
        fixtures.datasets(spec), shipped_terminology(), rules, fixtures.define(spec)
    )
    found: dict[Place, set[str]] = defaultdict(set)
    for f in findings:
        found[(f.dataset, f.record)].add(f.variable)
    expected: dict[Place, set[str]] = defaultdict(set)
    for e in _expected(case):
        dataset = SUBMISSION.get(e["dataset"], e["dataset"])
        expected[(dataset, e["record"])].update(e["variables"])
    agrees = set(found) == set(expected) and all(_named(p, found[p], expected[p]) for p in found)
    return Outcome(
        core,
        case["case"],
        tuple(r.id for r in rules),
        agrees,
        {p: frozenset(v) for p, v in expected.items()},
        {p: frozenset(v) for p, v in found.items()},
    )


def _expected(case: dict[str, Any]) -> list[dict[str, Any]]:
    """CORE's expected results, or where the case is flawed (results off by one, swapped, an
    execution error) the results the SDTMIG text gives, with the reason, in `sdtmig`."""
    corrected = case.get("sdtmig")
    return corrected["expect"] if corrected is not None else case["expect"]


def _named(place: Place, ours: set[str], theirs: set[str]) -> bool:
    """Our finding names a variable CORE names for the record. CORE's own computed names
    ($max_ex_exstdtc) stand for no variable of ours, so a record CORE describes only by them
    agrees whatever variable we name; so does a finding about a whole dataset."""
    if place[1] is None:
        return True
    real = {v for v in theirs if not v.startswith("$")}
    return not real or ours <= real


def explained() -> dict[tuple[str, str], str]:
    """(CORE id, case) -> why trialbridge and CORE's expected result differ there."""
    listed = [
        entry
        for path in sorted(CASES.glob("disagreements*.yaml"))
        for entry in yaml.safe_load(path.read_text()) or []
    ]
    return {(d["core"], d["case"]): d["why"] for d in listed}


def render() -> str:
    """docs/core-agreement.md: agreement per CORE id, and every disagreement with its reason."""
    judged = outcomes()
    agreed = sum(o.agrees for o in judged)
    raw = outcomes(as_published=True)
    published = sum(o.agrees for o in raw)
    why = explained()
    lines = [
        "# Agreement with CDISC CORE on CORE's own test cases",
        "",
        "Generated by `tests/conformance/test_core_cases.py` (run `pytest "
        "tests/conformance/test_core_cases.py --update-golden` to rewrite); do not edit by hand.",
        "",
        "CDISC CORE publishes, for each rule, positive and negative test datasets with the "
        "results it expects (cdisc-org/cdisc-open-rules, MIT licence). Their data are "
        "re-expressed in `tests/conformance/core_cases/`; every trialbridge rule that cites the "
        "CORE id runs on each case that has expected results. A case agrees when the same "
        "records are flagged (dataset and record) and each of our findings on a record names a "
        "variable CORE names for it.",
        "",
        f"**{agreed} of {len(judged)} cases agree ({100 * agreed / len(judged):.1f}%).** "
        "Where a case is flawed (results off by one, results files swapped, an execution "
        "error, a negative case without results), it is judged against what the SDTMIG text "
        "gives, listed below with the reason; against CORE's results as published, "
        f"{published} of {len(raw)} agree.",
        "",
        "| CORE id | trialbridge rules | cases | agree |",
        "|---|---|---|---|",
    ]
    by_core: dict[str, list[Outcome]] = defaultdict(list)
    for o in judged:
        by_core[o.core].append(o)
    for core, cases in by_core.items():
        rules = " ".join(cases[0].rules)
        lines.append(f"| {core} | {rules} | {len(cases)} | {sum(c.agrees for c in cases)} |")
    lines += ["", "## Disagreements", ""]
    for o in judged:
        if not o.agrees:
            lines.append(
                f"- **{o.core} {o.case}** ({' '.join(o.rules)}): {why.get((o.core, o.case), '')}"
            )
    corrected = [
        (core, case["case"], case["sdtmig"]["why"])
        for core in sorted(citing())
        for case in files()[core]["cases"]
        if "sdtmig" in case
    ]
    lines += ["", "## Flawed cases judged against the SDTMIG text", ""]
    lines += [f"- {core} {case}: {reason}" for core, case, reason in corrected]
    unjudged = [
        (core, case["case"], _not_judged(case))
        for core in sorted(citing())
        for case in files()[core]["cases"]
        if _not_judged(case) is not None
    ]
    lines += ["", "## Cases not judged", ""]
    lines += [f"- {core} {case}: {flaw}" for core, case, flaw in unjudged]
    return "\n".join(lines) + "\n"
