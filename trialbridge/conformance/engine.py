"""Run rules over a submission's datasets: each rule's operation on each dataset in its
scope, every issue a finding with the record it concerns."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from trialbridge.conformance import operations
from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.rule import Rule, Scope, shipped_rules
from trialbridge.errors import UserError
from trialbridge.fhir.build import domain_of
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.define_read import Define
from trialbridge.sdtm.metadata import DomainMeta

SEVERITIES = ("Reject", "Error", "Warning", "Notice")


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: str
    dataset: str
    record: int | None  # 1-based, None for the dataset as a whole
    usubjid: str | None
    seq: float | None
    variable: str
    value: object
    message: str


def run(
    datasets: dict[str, Dataset],
    terminology: Terminology,
    rules: tuple[Rule, ...] | None = None,
    define: Define | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules if rules is not None else shipped_rules():
        check = operations.get(rule.check.operation)
        if check is None:
            raise UserError(f"unknown operation '{rule.check.operation}'", f"rule {rule.id}")
        targets = [_empty()] if rule.level == "submission" else list(datasets.values())
        for dataset in targets:
            domain = domain_of(dataset)
            if rule.level == "dataset" and not _in_scope(rule.scope, dataset, domain):
                continue
            context = Context(dataset, domain, datasets, terminology, define)
            issues = check(context, **rule.check.params)
            findings += _findings(rule, context, issues)
    return findings


def _in_scope(scope: Scope, dataset: Dataset, domain: str) -> bool:
    if domain in scope.exclude or dataset.name in scope.exclude:
        return False
    names = {domain, dataset.name} | ({"SUPPQUAL"} if domain.startswith("SUPP") else set())
    if scope.domains and not names & set(scope.domains):
        return False
    return not scope.classes or dataset.meta.dataset_class in scope.classes


def _findings(rule: Rule, context: Context, issues: list[Issue]) -> list[Finding]:
    """Findings for one rule on one dataset; the record's USUBJID and --SEQ are looked up in
    arrays taken once, as a rule can flag a million records."""
    if not issues:
        return []
    frame = context.frame
    subjects = frame["USUBJID"].to_numpy(dtype=object) if "USUBJID" in frame else None
    seq_name = context.name("--SEQ")
    numeric = seq_name in frame and pd.api.types.is_numeric_dtype(frame[seq_name])
    seqs = frame[seq_name].to_numpy(dtype="float64") if numeric else None
    message = _message(rule.message, context.domain)
    found = []
    for issue in issues:
        usubjid = seq = None
        if issue.row is not None:
            if subjects is not None:
                usubjid = _text(subjects[issue.row])
            if seqs is not None and not math.isnan(seqs[issue.row]):
                seq = float(seqs[issue.row])
        found.append(
            Finding(
                rule=rule.id,
                severity=rule.severity,
                dataset=context.dataset.name,
                record=None if issue.row is None else issue.row + 1,
                usubjid=usubjid,
                seq=seq,
                variable=issue.variable,
                value=issue.value,
                message=message,
            )
        )
    return found


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _message(text: str, domain: str) -> str:
    """The rule's message for the domain: --SEQ as AESEQ; SUPP-- as SUPPAE in SUPPAE."""
    if not domain:
        return text
    if domain.startswith("SUPP"):
        return text.replace("SUPP--", domain)
    return text.replace("--", domain)


def _empty() -> Dataset:
    meta = DomainMeta(domain="", label="", dataset_class="", structure="", keys=(), variables=())
    frame = pd.DataFrame()
    return Dataset(name="", label="", meta=meta, variables=[], frame=frame, lineage=frame)
