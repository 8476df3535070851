"""The findings as JSON: a summary per rule and every finding with its record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from trialbridge.conformance.baseline import FIELDS, Comparison
from trialbridge.conformance.engine import SEVERITIES, Finding
from trialbridge.conformance.rule import shipped_rules
from trialbridge.sdtm.write import atomic_file


def summary(findings: list[Finding]) -> list[dict[str, object]]:
    """One row per rule that fired: id, severity, count, message; worst severity first."""
    counts = Counter(f.rule for f in findings)
    first = {f.rule: f for f in reversed(findings)}
    rows = [
        {"rule": rule, "severity": first[rule].severity, "count": n, "message": first[rule].message}
        for rule, n in counts.items()
    ]
    return sorted(rows, key=lambda r: (SEVERITIES.index(str(r["severity"])), str(r["rule"])))


def write(findings: list[Finding], folder: Path, comparison: Comparison | None = None) -> Path:
    """validation.json; against a baseline, each finding also says whether it is new or
    unchanged, and `baseline` gives the counts, per rule too, and the resolved findings."""
    rules = {r.id: r for r in shipped_rules()}
    fired = {f.rule for f in findings}
    document: dict[str, object] = {"summary": summary(findings)}
    if comparison is None:
        document["findings"] = findings  # orjson writes dataclasses field by field
    else:
        document["findings"] = [
            {**{k: getattr(f, k) for k in FIELDS}, "change": change}
            for f, change in zip(findings, comparison.changes, strict=True)
        ]
        document["baseline"] = {
            "file": comparison.baseline,
            "counts": comparison.counts(),
            "by_rule": comparison.by_rule(),
            "resolved": comparison.resolved,
        }
        fired |= {str(f["rule"]) for f in comparison.resolved}
    document["rules"] = {
        rule_id: rules[rule_id].model_dump(exclude={"fixtures"})
        for rule_id in sorted(fired)
        if rule_id in rules
    }
    data = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str)
    target = folder / "validation.json"
    with atomic_file(target) as handle:  # the newline apart: no copy of a million findings
        handle.write(data)
        handle.write(b"\n")
    return target
