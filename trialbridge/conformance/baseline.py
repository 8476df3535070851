"""Findings compared with an earlier run's validation.json: which are new, which unchanged,
and which of the earlier ones are resolved. A finding is the same finding when its rule,
dataset, variable, subject, --SEQ and value are (record numbers shift when records are added
or removed; a finding without subject and --SEQ is matched by its record too). Repeats are
matched one for one."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from trialbridge.conformance.engine import Finding
from trialbridge.errors import UserError

NEW, UNCHANGED, RESOLVED = "new", "unchanged", "resolved"
FIELDS = ("rule", "severity", "dataset", "record", "usubjid", "seq", "variable", "value", "message")
# the fields that make two runs' findings the same finding: severity and message may change
# with trialbridge's version, and the finding is still the same
SAME = ("rule", "dataset", "record", "usubjid", "seq", "variable", "value")
LARGEST = 4 << 30  # bytes of a validation.json read as a baseline
FIX = "give the validation.json an earlier `trialbridge validate` wrote"

Key = tuple[str, str, str, str, float | None, str, int | None]


@dataclass
class Comparison:
    """`changes[i]` is NEW or UNCHANGED for the i-th current finding (of rule `rules[i]`);
    `resolved` holds the baseline's findings that are gone, as the baseline wrote them."""

    baseline: str
    rules: list[str]
    changes: list[str]
    resolved: list[dict[str, object]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        tally = Counter(self.changes)
        return {NEW: tally[NEW], UNCHANGED: tally[UNCHANGED], RESOLVED: len(self.resolved)}

    def by_rule(self) -> dict[str, dict[str, int]]:
        """Per rule: how many of its findings are new, unchanged and resolved."""
        tally = Counter(zip(self.rules, self.changes, strict=True))
        tally.update((str(f["rule"]), RESOLVED) for f in self.resolved)
        rules = sorted({rule for rule, _ in tally})
        return {rule: {c: tally[(rule, c)] for c in (NEW, UNCHANGED, RESOLVED)} for rule in rules}


def read(path: Path) -> list[dict[str, object]]:
    """The findings of an earlier validation.json; one line naming the file when it is not
    one."""
    if not path.is_file():
        raise UserError("a folder, not a file" if path.is_dir() else "no such file", path, FIX)
    if path.stat().st_size > LARGEST:
        raise UserError(f"the file is larger than {LARGEST >> 30} GiB", path, FIX)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise UserError(f"not JSON ({error})", path, FIX) from None
    except OSError as error:
        raise UserError(f"cannot be read ({error.strerror})", path, FIX) from None
    findings = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(findings, list):
        raise UserError("not a validation report: it has no list of findings", path, FIX)
    for number, finding in enumerate(findings, 1):
        missing = [k for k in FIELDS if not isinstance(finding, dict) or k not in finding]
        if missing:
            raise UserError(f"finding {number} has no {', '.join(missing)}", path, FIX)
    return [_plain(finding) for finding in findings]


def _plain(finding: dict[str, object]) -> dict[str, object]:
    """The finding's fields as the types a report writes (text, a number or nothing), so an
    odd value in a hand-edited file cannot break the reports."""
    record, seq, value = finding["record"], _number(finding["seq"]), finding["value"]
    plain: dict[str, object] = {k: str(finding[k]) for k in FIELDS}
    plain["record"] = record if isinstance(record, int) and not isinstance(record, bool) else None
    plain["usubjid"] = None if finding["usubjid"] is None else str(finding["usubjid"])
    plain["seq"] = seq
    plain["value"] = value if value is None or isinstance(value, str | int | float) else str(value)
    return plain


def compare(findings: list[Finding], baseline: list[dict[str, object]], name: str) -> Comparison:
    before = [_key(*(f[k] for k in SAME)) for f in baseline]
    earlier = Counter(before)
    changes = []
    for finding in findings:
        key = _key(*(getattr(finding, k) for k in SAME))
        if earlier[key] > 0:
            earlier[key] -= 1
            changes.append(UNCHANGED)
        else:
            changes.append(NEW)
    resolved = []
    for f, key in zip(baseline, before, strict=True):  # what is left, in the baseline's order
        if earlier[key] > 0:
            earlier[key] -= 1
            resolved.append(f)
    return Comparison(name, [f.rule for f in findings], changes, resolved)


def _key(
    rule: object,
    dataset: object,
    record: object,
    usubjid: object,
    seq: object,
    variable: object,
    value: object,
) -> Key:
    """What makes two runs' findings the same finding (the record only where there is
    neither subject nor --SEQ to tell it by)."""
    number = _number(seq)
    placed = record if usubjid is None and number is None and isinstance(record, int) else None
    return (str(rule), str(dataset), str(variable), _text(usubjid), number, _text(value), placed)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def _text(value: object) -> str:
    """A value as JSON carries it, so a value read back compares equal to the one found."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return str(value)
