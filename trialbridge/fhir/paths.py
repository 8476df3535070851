"""Set and get values in FHIR resources (plain dicts) by simple paths: `a.b[0].c`."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# `[+2]`: the third item of a list written without gaps (absent items are skipped, so an
# item is found by its content, not its position)
_STEP = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[\+?(?P<index>\d+)\])?$")


@cache
def steps(path: str) -> tuple[tuple[str, int | None], ...]:
    """`a.b[0].c` -> (a, None), (b, 0), (c, None); parsed once per distinct path."""
    out = []
    for part in path.split("."):
        found = _STEP.match(part)
        if not found:
            raise ValueError(f"bad FHIR path step '{part}' in '{path}'")
        index = found.group("index")
        out.append((found.group("name"), int(index) if index is not None else None))
    return tuple(out)


def set_path(resource: dict[str, Any], path: str, value: Any) -> None:
    """Create what is missing along the path and set the value."""
    parts = steps(path)
    node: Any = resource
    for i, (name, index) in enumerate(parts):
        last = i == len(parts) - 1
        if index is None:
            if last:
                node[name] = value
                return
            node = node.setdefault(name, {})
            continue
        items = node.setdefault(name, [])
        while len(items) <= index:
            items.append({})
        if last:
            items[index] = value
            return
        node = items[index]


def get_path(resource: dict[str, Any], path: str) -> Any:
    """The value at the path, or None when any step is absent."""
    node: Any = resource
    for name, index in steps(path):
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
        if index is not None:
            if not isinstance(node, list) or len(node) <= index:
                return None
            node = node[index]
    return node


def compact_lists(path: str) -> set[str]:
    """The names of the path's lists written without gaps (`coding[+1]`)."""
    return {part.partition("[")[0] for part in path.split(".") if "[+" in part}
