"""docs/rules.md, generated from the rule files so the list and the rules cannot disagree."""

from __future__ import annotations

from collections import Counter

from trialbridge.conformance.engine import SEVERITIES
from trialbridge.conformance.rule import Rule, shipped_rules

HEADER = """# Conformance rules

Generated from `trialbridge/sdtm/rules/*.yaml` by `trialbridge rules`; do not edit by hand.
Each rule has a positive and a negative fixture in its file, which the test suite runs. The
"same check" column gives the ids other validators and guides use: Pinnacle 21 (SDnnnn,
CTnnnn), CDISC CORE (CORE-nnnnnn), CDISC conformance rules (CGnnnn) and FDA business or
validator rules (FDABnnn, FBnnnn).
"""


def render() -> str:
    rules = shipped_rules()
    counts = Counter(r.severity for r in rules)
    tally = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    lines = [HEADER, f"{len(rules)} rules: {tally}.", ""]
    lines += ["| id | severity | title | applies to | check | same check |", "|---" * 6 + "|"]
    lines += [_row(rule) for rule in rules]
    return "\n".join(lines) + "\n"


def _row(rule: Rule) -> str:
    refs = rule.references
    cited = " ".join(refs.p21 + refs.core + refs.cdisc + refs.fda)
    return (
        f"| {rule.id} | {rule.severity} | {_cell(rule.title)} | {_scope(rule)} "
        f"| `{rule.check.operation}` | {cited} |"
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
