"""docs/rules.md, generated from the rule files so the list and the rules cannot disagree."""

from __future__ import annotations

from collections import Counter

from trialbridge.conformance import coverage
from trialbridge.conformance.engine import SEVERITIES
from trialbridge.conformance.profiles import rules_for
from trialbridge.conformance.rule import Rule, shipped_rules

HEADER = """# Conformance rules

Generated from `trialbridge/sdtm/rules/*.yaml` by `trialbridge rules`; do not edit by hand.
Each rule has a positive and a negative fixture in its file, which the test suite runs. The
"same check" column gives the ids other validators and guides use: Pinnacle 21 (SDnnnn,
CTnnnn), CDISC CORE (CORE-nnnnnn), CDISC conformance rules (CGnnnn) and FDA business or
validator rules (FDABnnn, FBnnnn). The FDA and PMDA columns give the severity under
`validate --profile fda` and `--profile pmda` (empty: the profile does not run the rule):
Pinnacle 21's FDA configuration sets a severity only on its six Reject checks, so elsewhere
the FDA column is trialbridge's own; PMDA's is PMDA's Study Data Validation Rules v2.0. Where
trialbridge's own severity differs from the agencies' for a reason, the rule says why
(`severity_because`).
"""


def render() -> str:
    rules = shipped_rules()
    counts = Counter(r.severity for r in rules)
    tally = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    lines = [HEADER, f"{len(rules)} rules: {tally}.", ""]
    lines += [
        "| id | severity | FDA | PMDA | title | applies to | check | same check |",
        "|---" * 8 + "|",
    ]
    fda, pmda = ({r.id: r.severity for r in rules_for(p)} for p in ("fda", "pmda"))
    lines += [_row(rule, fda, pmda) for rule in rules]
    lines += _external()
    return "\n".join(lines) + "\n"


def _external() -> list[str]:
    """The CORE and P21 checks trialbridge does not run, grouped by why."""
    ids = coverage.cited()
    checks = coverage.distinct()
    missing = [c for c in checks if not coverage.implemented(c, ids)]
    lines = [
        "",
        "## Checks of CDISC CORE and Pinnacle 21 not implemented",
        "",
        f"CDISC CORE's published SDTMIG rules and Pinnacle 21's FDA configuration (SDTM-IG 3.4)"
        f" make {len(checks)} distinct checks (a P21 check that is the same as a CORE rule, by"
        " a shared CDISC id or by reading both, counted once); trialbridge's rules implement"
        f" {len(checks) - len(missing)}."
        " The others, by what they need and the kind of check (listed in"
        " `trialbridge/sdtm/rules/external_checks.csv`):",
        "",
    ]
    groups: dict[str, list[str]] = {}
    for check in missing:
        groups.setdefault(f"{coverage.why_not(check)}: {check.kind}", []).append(check.id)
    for group, found in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        lines.append(f"- {group} ({len(found)}): {' '.join(found)}")
    return lines


def _row(rule: Rule, fda: dict[str, str], pmda: dict[str, str]) -> str:
    refs = rule.references
    cited = " ".join(refs.p21 + refs.core + refs.cdisc + refs.fda) or (
        f"none: {refs.none_because}" if refs.none_because else ""
    )
    return (
        f"| {rule.id} | {rule.severity} | {fda.get(rule.id, '')} | {pmda.get(rule.id, '')} "
        f"| {_cell(rule.title)} | {_scope(rule)} | `{rule.check.operation}` | {cited} |"
    )


def _scope(rule: Rule) -> str:
    if rule.level == "submission":
        return "the submission"
    scope = rule.scope
    parts = scope.domains + [f"{c} class" for c in scope.classes]
    text = ", ".join(parts) or "every dataset"
    return text + (f" except {', '.join(scope.exclude)}" if scope.exclude else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
