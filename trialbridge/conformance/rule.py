"""A conformance rule as data: its ids, severity, scope, one check and its message, with a
positive and a negative fixture that the test suite runs."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from trialbridge.study import Strict
from trialbridge.yamlio import load_model

Severity = Literal["Reject", "Error", "Warning", "Notice"]


class References(Strict):
    """The ids other validators and guides give the same check."""

    p21: list[str] = Field(default_factory=list)
    core: list[str] = Field(default_factory=list)
    cdisc: list[str] = Field(default_factory=list)
    fda: list[str] = Field(default_factory=list)
    none_because: str = Field(
        default="", description="why no other validator's or guide's id names this check"
    )


class Scope(Strict):
    """Which datasets a rule looks at: by SDTM class and/or domain (empty = all)."""

    classes: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class Check(Strict):
    operation: str
    params: dict[str, Any] = Field(default_factory=dict)


class Expected(Strict):
    """One finding a fixture must produce: where it points."""

    dataset: str = Field(description="the dataset's name; empty for the submission")
    record: int | None = Field(description="1-based record; null for the dataset as a whole")
    variable: str


class Case(Strict):
    """A further fixture for a branch of the rule, with the findings it must produce exactly
    (none: it must pass)."""

    note: str = Field(description="which branch of the rule the case exercises")
    data: dict[str, dict[str, Any]]
    expect: list[Expected]


class Fixtures(Strict):
    """Datasets as columns of values (and `_labels`: variable -> label where a rule looks at
    labels); `positive` must pass, `negative` must be reported exactly as `expect` pins
    (dataset, record, variable); `cases` exercise the rule's other branches."""

    positive: dict[str, dict[str, Any]]
    negative: dict[str, dict[str, Any]]
    expect: list[Expected] = Field(default_factory=list)
    cases: list[Case] = Field(default_factory=list)


class Rule(Strict):
    id: str
    title: str
    severity: Severity
    level: Literal["dataset", "submission"] = Field(
        default="dataset", description="submission: checked once, not per dataset"
    )
    severity_because: str = Field(
        default="", description="why the severity differs from the one the agencies give"
    )
    references: References = Field(default_factory=References)
    scope: Scope = Field(default_factory=Scope)
    check: Check
    message: str = Field(description="in the data manager's words; -- is the domain prefix")
    fixtures: Fixtures


@cache
def shipped_rules() -> tuple[Rule, ...]:
    folder = resources.files("trialbridge.sdtm.rules")
    rules = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            path = Path(str(entry))
            rule, _ = load_model(path, Rule, f"trialbridge/sdtm/rules/{entry.name}")
            rules.append(rule)
    return tuple(rules)
