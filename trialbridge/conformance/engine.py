"""Run rules over a submission's datasets: each rule's operation on each dataset in its
scope, every issue a finding with the record it concerns."""

from __future__ import annotations

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


@dataclass(frozen=True)
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
            findings += [_finding(rule, context, issue) for issue in issues]
    return findings


def _in_scope(scope: Scope, dataset: Dataset, domain: str) -> bool:
    if domain in scope.exclude or dataset.name in scope.exclude:
        return False
    names = {domain, dataset.name} | ({"SUPPQUAL"} if domain.startswith("SUPP") else set())
    if scope.domains and not names & set(scope.domains):
        return False
    return not scope.classes or dataset.meta.dataset_class in scope.classes


def _finding(rule: Rule, context: Context, issue: Issue) -> Finding:
    frame = context.frame
    usubjid = seq = None
    if issue.row is not None:
        if "USUBJID" in frame:
            usubjid = frame["USUBJID"].iat[issue.row]
        seq_name = context.name("--SEQ")
        if seq_name in frame and pd.notna(frame[seq_name].iat[issue.row]):
            seq = float(frame[seq_name].iat[issue.row])
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        dataset=context.dataset.name,
        record=None if issue.row is None else issue.row + 1,
        usubjid=None if usubjid is None or pd.isna(usubjid) else str(usubjid),
        seq=seq,
        variable=issue.variable,
        value=issue.value,
        message=_message(rule.message, context.domain),
    )


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
