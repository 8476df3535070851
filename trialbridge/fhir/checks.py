"""Validate FHIR resources (plain dicts): structure (R4B models), required elements, required
bindings at any depth, FHIRPath invariants (fhirpathpy), ele-1, ext-1, and references that
must resolve inside the output. The R4 facts are data (definitions/r4.yaml). One resource at
a time: for what trialbridge builds, column_checks.py runs this on one resource per shape."""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import fhirpathpy
from fhirpathpy.models import models
from pydantic import BaseModel, Field

from trialbridge.fhir import profiles, structure
from trialbridge.yamlio import load_model


class Invariant(BaseModel):
    key: str
    context: list[str]
    expression: str
    human: str
    reads: list[str] = Field(default_factory=list)
    ordered: list[str] = Field(
        default_factory=list,
        description="[lower, upper]: the expression is lower <= upper as instants, which two "
        "values written alike (same length, same zone) show as text",
    )
    when: str | None = Field(
        default=None,
        description="an element without which the invariant holds whatever the values (a "
        "profile's: meta.profile), so its reads decide nothing on resources that lack it",
    )
    only_reads: bool = Field(
        default=False,
        description="the expression looks at nothing but `reads`: checked on their distinct "
        "values alone (a period's start and end), not once per record shape and value",
    )


class R4Facts(BaseModel):
    required: dict[str, list[str]]
    bindings: dict[str, list[str]]
    invariants: list[Invariant]


@dataclass(frozen=True)
class Finding:
    resource: str  # Type/id
    rule: str
    message: str
    record: str  # the SDTM record (dataset tag and meta.source) it came from

    def line(self) -> str:
        return f"{self.resource} [{self.rule}] {self.message} ({self.record})"


@cache
def facts() -> R4Facts:
    """R4's rules, and an invariant per vital signs profile (checked where claimed)."""
    path = package_files.files("trialbridge.fhir.definitions").joinpath("r4.yaml")
    model, _ = load_model(Path(str(path)), R4Facts, "trialbridge/fhir/definitions/r4.yaml")
    model.invariants += [
        Invariant(
            key=f"profile-{profile.name}",
            context=["Observation"],
            expression=profiles.expression(profile),
            human=f"claims {profile.url} but does not meet it",
            reads=profiles.READS,
            when="meta.profile",
        )
        for profile in profiles.vital_signs().profiles
    ]
    return model


def holds(invariant: Invariant, context: str, values: dict[str, Any]) -> bool:
    """Whether an `only_reads` invariant holds for these values of its reads, placed in a
    resource of nothing else."""
    kind, _, inner = context.partition(".")
    node: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
    for name in reversed(inner.split(".")) if inner else []:
        node = {name: node}
    return False not in _compiled(context, invariant.expression)({"resourceType": kind, **node})


@cache
def _compiled(context: str, expression: str) -> Callable[[Any], list[Any]]:
    return fhirpathpy.compile(f"{context}.select({expression})", model=models["r4"])


def validate(resources: list[dict[str, Any]]) -> list[Finding]:
    known = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    findings: list[Finding] = []
    for resource in resources:
        findings += check(resource, known)
    return findings


def check(
    resource: dict[str, Any], known: set[str] | None, skip: frozenset[str] = frozenset()
) -> list[Finding]:
    """Every rule on one resource (but the invariants in `skip`); references are checked
    against `known` unless None."""
    kind = resource.get("resourceType", "?")
    name = f"{kind}/{resource.get('id', '?')}"
    record = _record(resource)
    # the R4B models fail (not report) on an unknown inner type; FHIRPath on a wrong structure
    problems = _unknown_inner_types(resource, kind) or structure.problems(resource)
    found = [
        Finding(name, rule, message, record)
        for rule, message in _rules(resource, kind, invariants=not problems)
        if rule not in skip
    ]
    found += [Finding(name, "structure", message, record) for message in problems]
    for path, value in _walk(resource, kind):
        for rule, message in _element(path, value, known):
            found.append(Finding(name, rule, message, record))
    return found


def _unknown_inner_types(resource: dict[str, Any], kind: str) -> list[str]:
    """Resources inside the resource (contained, Bundle entries) whose resourceType no R4
    model has: the R4B models stop with an error of their own there, not a finding."""
    found = []
    stack: list[tuple[str, Any]] = [(kind, resource)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if isinstance(value, dict | list):
                stack.append((f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}", value))
        if node is resource or not isinstance(node, dict) or "resourceType" not in node:
            continue
        inner = node["resourceType"]
        if not isinstance(inner, str) or not _r4_type(inner):
            found.append(f"{path}: resourceType {str(inner)[:40]!r} is not an R4 resource type")
    return sorted(found)


@cache
def _r4_type(kind: str) -> bool:
    """A resource type the R4B models have (as structure.py finds them)."""
    if not re.fullmatch(r"[A-Z][A-Za-z]{0,63}", kind):
        return False
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    except ImportError:
        return False
    return isinstance(getattr(module, kind, None), type)


def _rules(resource: dict[str, Any], kind: str, invariants: bool) -> Iterator[tuple[str, str]]:
    """Required elements; and the invariants, when the structure is right for FHIRPath."""
    rules = facts()
    for element in rules.required.get(kind, []):
        if not _present(resource, element):
            yield "required", f"{kind}.{element} is required (min 1)"
    if not invariants:
        return
    plain = _values_only(resource)
    for invariant in rules.invariants:
        for context in invariant.context:
            if context.partition(".")[0] == kind and False in _compiled(
                context, invariant.expression
            )(plain):
                yield invariant.key, invariant.human


def _values_only(node: Any) -> Any:
    """The resource without primitive extensions (`_start`): fhirpathpy would count them as a
    second item of the element, and no invariant here looks at them."""
    if isinstance(node, dict):
        return {k: _values_only(v) for k, v in node.items() if not k.startswith("_")}
    if isinstance(node, list):
        return [_values_only(item) for item in node]
    return node


def _element(path: str, value: Any, known: set[str] | None) -> list[tuple[str, str]]:
    """ele-1 (no empty element), ext-1, required bindings, resolvable references."""
    if value in (None, "", [], {}) or (isinstance(value, float) and math.isnan(value)):
        return [("ele-1", f"{path} is empty; an element needs a value or children")]
    codes = facts().bindings.get(path)
    if codes is not None and isinstance(value, str) and value not in codes:
        return [("binding", f"{path} '{value}' is not in the required value set")]
    if path.endswith(".extension") and isinstance(value, list):
        return [
            ("ext-1", f"{path}: an extension has a value[x] or extensions, not both")
            for ext in value
            if isinstance(ext, dict) and _has_value(ext) == ("extension" in ext)
        ]
    if known is None or not path.endswith(".reference") or not isinstance(value, str):
        return []
    local = "/" in value and not value.startswith(("http", "urn:", "#"))
    if local and value not in known:
        return [("reference", f"{path} '{value}' does not resolve in this output")]
    return []


def _present(resource: dict[str, Any], element: str) -> bool:
    if element.endswith("[x]"):
        stem = element[:-3]
        return any(k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper() for k in resource)
    return element in resource


def _has_value(node: dict[str, Any]) -> bool:
    return any(k.startswith("value") and k[5:6].isupper() for k in node)


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """(path, value) for every element below the resource root; list items share a path."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, list) and value:
                yield f"{path}.{key}", value
                for item in value:
                    yield f"{path}.{key}", item
                    if isinstance(item, dict | list):
                        yield from _walk(item, f"{path}.{key}")
            else:
                yield f"{path}.{key}", value
                if isinstance(value, dict):
                    yield from _walk(value, f"{path}.{key}")


def _record(resource: dict[str, Any]) -> str:
    """The SDTM record a resource came from, as far as its meta says (any JSON may be there:
    this names resources whose structure is wrong too)."""
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    tags = meta.get("tag")
    codes = [
        str(t.get("code"))
        for t in (tags if isinstance(tags, list) else [])
        if isinstance(t, dict) and "sdtm-dataset" in str(t.get("system", ""))
    ]
    parts = [f"SDTM {codes[0]}"] if codes else []
    if isinstance(meta.get("source"), str) and meta["source"]:
        parts.append(meta["source"])
    return ", ".join(parts) or "no SDTM lineage"
