"""The few FHIRPath forms the HL7/CDISC mapping guide's paths use, evaluated over a list of
resources independently of trialbridge's parser: navigation through lists, `resolve()` of
`Type/id` and contained `#id` references, `where(a.b='x')`, `where(a=Root.path)` (resources
of a type that refer back to the record: `ResearchSubject.where(individual=Observation.subject)`)
and `extension('url')` (its last part suffices: `extension('workflow-researchStudy')`)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_STEP = re.compile(r"(resolve\(\)|where\([^)]*\)|extension\('[^']*'\)|[A-Za-z_][A-Za-z0-9_]*)")


class Index:
    """The resources by `Type/id`, and by type."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.by_reference = {f"{r['resourceType']}/{r['id']}": r for r in resources}
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in resources:
            self.by_type.setdefault(resource["resourceType"], []).append(resource)
        self._referring: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}

    def referring(self, kind: str, field: str) -> dict[str, list[dict[str, Any]]]:
        """Resources of a type by the reference their field holds (built once per pair)."""
        if (kind, field) not in self._referring:
            found: dict[str, list[dict[str, Any]]] = {}
            for resource in self.by_type.get(kind, []):
                for value in _values(resource, field):
                    if isinstance(value, dict) and isinstance(value.get("reference"), str):
                        found.setdefault(value["reference"], []).append(resource)
            self._referring[(kind, field)] = found
        return self._referring[(kind, field)]


@cache
def split(path: str) -> tuple[str, ...]:
    """`a.resolve().where(b='x').c` -> its steps; dots inside parentheses stay."""
    found = _STEP.findall(path)
    if ".".join(found) != path:
        raise ValueError(f"unsupported FHIRPath: {path}")
    return tuple(found)


def evaluate(path: str, resource: dict[str, Any], index: Index) -> list[Any]:
    """The primitive values (or objects) the path reaches from the resource; `a | b`: both."""
    if " | " in path:
        return [v for part in path.split(" | ") for v in evaluate(part, resource, index)]
    parts = split(path)
    head = parts[0]
    if head == resource["resourceType"]:
        focus: list[Any] = [resource]
        rest = parts[1:]
    elif head in index.by_type and parts[1].startswith("where("):
        focus = _referring_back(head, parts[1], resource, index)
        rest = parts[2:]
    else:
        raise ValueError(f"{path} starts neither at {resource['resourceType']} nor a lookup")
    for step in rest:
        focus = [item for node in focus for item in _step(node, step, resource, index)]
    return focus


def _step(node: Any, step: str, root: dict[str, Any], index: Index) -> list[Any]:
    if step == "resolve()":
        target = node.get("reference") if isinstance(node, dict) else None
        if isinstance(target, str) and target.startswith("#"):
            return [c for c in root.get("contained", []) if c.get("id") == target[1:]]
        return [index.by_reference[target]] if target in index.by_reference else []
    if step.startswith("extension("):
        url = step[len("extension('") : -2]
        return [
            e
            for e in (node.get("extension", []) if isinstance(node, dict) else [])
            if e.get("url") == url or e.get("url", "").endswith("/" + url)
        ]
    if step.startswith("where("):
        field, _, wanted = step[len("where(") : -1].partition("=")
        values = _values(node, field.strip())
        return [node] if wanted.strip().strip("'") in [str(v) for v in values] else []
    if not isinstance(node, dict) or step not in node:
        return []
    value = node[step]
    return value if isinstance(value, list) else [value]


def _values(node: Any, dotted: str) -> list[Any]:
    focus = [node]
    for name in dotted.split("."):
        focus = [item for n in focus for item in _step(n, name, {}, _NOWHERE)]
    return focus


_NOWHERE = Index([])


def _referring_back(
    kind: str, where: str, root: dict[str, Any], index: Index
) -> list[dict[str, Any]]:
    """`ResearchSubject.where(individual=Observation.subject)`: the resources of the type
    whose field refers to what the root's path refers to (`=Patient`: to the root itself)."""
    field, _, other = where[len("where(") : -1].partition("=")
    by_reference = index.referring(kind, field.strip())
    if other.strip() == root["resourceType"]:
        return by_reference.get(f"{root['resourceType']}/{root['id']}", [])
    found: list[dict[str, Any]] = []
    for target in evaluate(other.strip(), root, index):
        if isinstance(target, dict):
            found += by_reference.get(target.get("reference"), [])
    return found
