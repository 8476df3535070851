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


class Scope(Strict):
    """Which datasets a rule looks at: by SDTM class and/or domain (empty = all)."""

    classes: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)


class Check(Strict):
    operation: str
    params: dict[str, Any] = Field(default_factory=dict)


class Fixtures(Strict):
    """Datasets as columns of values (and `_labels`: variable -> label where a rule looks at
    labels); `positive` must pass, `negative` must be reported."""

    positive: dict[str, dict[str, Any]]
    negative: dict[str, dict[str, Any]]


class Rule(Strict):
    id: str
    title: str
    severity: Severity
    level: Literal["dataset", "submission"] = Field(
        default="dataset", description="submission: checked once, not per dataset"
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
