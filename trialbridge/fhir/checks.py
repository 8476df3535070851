"""Validate FHIR resources without a model per resource: required elements and bindings (R4
facts as data), the invariants ele-1, ext-1 and obs-6, and references that must resolve inside
the output. Plain dict walks, so it keeps up with the build."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import resources as package_files
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from trialbridge.yamlio import load_model


class R4Facts(BaseModel):
    required: dict[str, list[str]]
    bindings: dict[str, list[str]]


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
    path = package_files.files("trialbridge.fhir.definitions").joinpath("r4.yaml")
    model, _ = load_model(Path(str(path)), R4Facts, "trialbridge/fhir/definitions/r4.yaml")
    return model


def validate(resources: list[dict[str, Any]]) -> list[Finding]:
    known = {f"{r.get('resourceType')}/{r.get('id')}" for r in resources}
    findings: list[Finding] = []
    for resource in resources:
        findings += _check(resource, known)
    return findings


def _check(resource: dict[str, Any], known: set[str]) -> list[Finding]:
    kind = resource.get("resourceType", "?")
    name = f"{kind}/{resource.get('id', '?')}"
    record = _record(resource)
    found: list[Finding] = []

    def add(rule: str, message: str) -> None:
        found.append(Finding(name, rule, message, record))

    rules = facts()
    for element in rules.required.get(kind, []):
        if not _present(resource, element):
            add("required", f"{kind}.{element} is required (min 1)")
    for path, codes in rules.bindings.items():
        owner, _, element = path.partition(".")
        if owner == kind and element in resource and resource[element] not in codes:
            add("binding", f"{path} '{resource[element]}' is not in the required value set")
    if kind == "Observation" and "dataAbsentReason" in resource and _has_value(resource):
        add("obs-6", "dataAbsentReason only when there is no value[x]")
    for path, value in _walk(resource, kind):
        for rule, message in _element(path, value, known):
            add(rule, message)
    return found


def _element(path: str, value: Any, known: set[str]) -> list[tuple[str, str]]:
    """ele-1 (no empty element), ext-1 (value or extensions) and resolvable references."""
    if value in (None, "", [], {}) or (isinstance(value, float) and math.isnan(value)):
        return [("ele-1", f"{path} is empty; an element needs a value or children")]
    if path.endswith(".extension") and isinstance(value, list):
        return [
            ("ext-1", f"{path}: an extension has a value[x] or extensions, not both")
            for ext in value
            if isinstance(ext, dict) and _has_value(ext) == ("extension" in ext)
        ]
    local = isinstance(value, str) and "/" in value and not value.startswith(("http", "urn:"))
    if path.endswith(".reference") and local and value not in known:
        return [("reference", f"{path} '{value}' does not resolve in this output")]
    return []


def _present(resource: dict[str, Any], element: str) -> bool:
    if element.endswith("[x]"):
        stem = element[:-3]
        return any(k.startswith(stem) and k[len(stem) : len(stem) + 1].isupper() for k in resource)
    return element in resource


def _has_value(node: dict[str, Any]) -> bool:
    return any(k.startswith("value") and k[5:6].isupper() for k in node)


def _walk(node: Any, path: str) -> Any:
    """(path, value) for every element below the resource root."""
    if isinstance(node, dict):
        if not node:
            return
        for key, value in node.items():
            yield f"{path}.{key}", value
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, path)


def _record(resource: dict[str, Any]) -> str:
    meta = resource.get("meta", {})
    tags = [t.get("code") for t in meta.get("tag", []) if "sdtm-dataset" in t.get("system", "")]
    parts = [f"SDTM {tags[0]}"] if tags else []
    if meta.get("source"):
        parts.append(meta["source"])
    return ", ".join(parts) or "no SDTM lineage"
