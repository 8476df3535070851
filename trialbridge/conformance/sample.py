"""The findings a person reads: at most PER_RULE of each rule in each dataset, as Pinnacle 21
limits its Excel details; the summaries count every finding and validation.json keeps all."""

from __future__ import annotations

from collections import Counter

from trialbridge.conformance.engine import Finding

PER_RULE = 1000


def positions(findings: list[Finding], per_rule: int = PER_RULE) -> list[int]:
    """Where the kept findings stand in `findings`, in order (so a caller can keep what it
    holds beside each finding, such as its change against a baseline)."""
    seen: Counter[tuple[str, str]] = Counter()
    kept = []
    for at, finding in enumerate(findings):
        key = (finding.rule, finding.dataset)
        seen[key] += 1
        if seen[key] <= per_rule:
            kept.append(at)
    return kept


def left_out(findings: list[Finding], per_rule: int = PER_RULE) -> int:
    """How many findings the sample leaves out."""
    counts = Counter((f.rule, f.dataset) for f in findings)
    return sum(max(n - per_rule, 0) for n in counts.values())
