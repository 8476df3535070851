"""Run rules over a submission's datasets: each rule's operation on each dataset in its
scope, every issue a finding with the record it concerns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from trialbridge.conformance import operations
from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.rule import Rule, Scope, shipped_rules
from trialbridge.errors import UserError
from trialbridge.fhir.build import domain_of
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.define_read import Define
from trialbridge.sdtm.metadata import DomainMeta, standard_domains

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
    # each dataset's domain once (a split dataset's is read from its DOMAIN column), not once
    # per rule
    every = [(dataset, domain_of(dataset)) for dataset in datasets.values()]
    for rule in rules if rules is not None else shipped_rules():
        check = operations.get(rule.check.operation)
        if check is None:
            raise UserError(f"unknown operation '{rule.check.operation}'", f"rule {rule.id}")
        targets = [(_empty(), "")] if rule.level == "submission" else every
        for dataset, domain in targets:
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
    return not scope.classes or bool(classes(dataset, domain) & set(scope.classes))


# the general observation classes by their topic variable, for a domain the SDTMIG does not
# describe (a sponsor domain, a custom dataset)
TOPICS = {"TESTCD": "Findings", "TRT": "Interventions", "TERM": "Events"}


def classes(dataset: Dataset, domain: str) -> set[str]:
    """The classes a rule scoped by class sees the dataset in: its SDTMIG class (Findings
    About is also Findings, as it is a kind of Findings; a split dataset's is its domain's),
    or for a domain the SDTMIG does not describe, the class its topic variable (--TESTCD,
    --TRT, --TERM) names."""
    known = standard_domains().get(domain)
    given = dataset.meta.dataset_class or (known.dataset_class if known is not None else "")
    if given == "Findings About":
        return {given, "Findings"}
    if given:
        return {given}
    if len(domain) != 2:
        return set()
    return {kind for topic, kind in TOPICS.items() if domain + topic in dataset.frame.columns}


def _findings(rule: Rule, context: Context, issues: list[Issue]) -> list[Finding]:
    """Findings for one rule on one dataset; the records' USUBJID and --SEQ are looked up as
    arrays and the findings built by map, as a rule can flag a million records."""
    if not issues:
        return []
    frame = context.frame
    at = [issue.row for issue in issues]
    rows = np.array([-1 if row is None else row for row in at], dtype=np.int64)
    subjects = _subjects(frame, rows) if "USUBJID" in frame else repeat(None)
    seq_name = context.name("--SEQ")
    numeric = seq_name in frame and pd.api.types.is_numeric_dtype(frame[seq_name])
    seqs = _seqs(frame[seq_name], rows) if numeric else repeat(None)
    records = [None if row is None else row + 1 for row in at]
    return list(
        map(
            Finding,
            repeat(rule.id),
            repeat(rule.severity),
            repeat(context.dataset.name),
            records,
            subjects,
            seqs,
            [issue.variable for issue in issues],
            [issue.value for issue in issues],
            repeat(_message(rule.message, context.domain)),
        )
    )


def _subjects(frame: pd.DataFrame, rows: np.ndarray) -> list[str | None]:
    """Each row's USUBJID as text (None where it is missing)."""
    column = frame["USUBJID"]
    if isinstance(column.dtype, pd.StringDtype):  # text already: missing as None is all
        return _at(column, rows, dtype=object, na_value=None)
    return [_text(v) for v in _at(column, rows, dtype=object)]


def _seqs(column: pd.Series, rows: np.ndarray) -> list[float | None]:
    """Each row's --SEQ as a float (None where it is missing)."""
    values = _at(column, rows, dtype="float64")
    return [None if v is None or math.isnan(v) else v for v in values]


def _at(column: pd.Series, rows: np.ndarray, **how: object) -> list[object]:
    """The column's value at each row as a Python object (numpy's `how`), None for row -1
    (an issue with the whole dataset); only these rows are converted."""
    if len(column) == 0:
        return [None] * len(rows)
    picked = column.iloc[np.maximum(rows, 0)].to_numpy(**how).tolist()  # type: ignore[call-overload]
    return [None if row < 0 else v for row, v in zip(rows.tolist(), picked, strict=True)]


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
