"""FHIR input for the corpus: a resource on one NDJSON line or a Bundle changed as JSON (a
dotted path names the element, a number an item of a list), lines too long or too deep to
write by hand, a byte order mark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def line(folder: Path, path: Path, number: int, text: str) -> bytes:
    """The NDJSON file with line `number` replaced by `text`."""
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = text.encode()
    return b"\n".join(lines)


def changed(
    folder: Path,
    path: Path,
    number: int,
    set: dict[str, Any] | None = None,
    drop: list[str] | None = None,
) -> bytes:
    """The NDJSON file with the resource on line `number` changed."""
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = json.dumps(_edited(json.loads(lines[number - 1]), set, drop)).encode()
    return b"\n".join(lines)


def copied(
    folder: Path, path: Path, source: str, number: int, set: dict[str, Any] | None = None
) -> bytes:
    """The file (if any) and then a changed copy of line `number` of `source` (in {in})."""
    head = path.read_bytes() if path.exists() else b""
    resource = json.loads((folder / source).read_bytes().split(b"\n")[number - 1])
    return head + json.dumps(_edited(resource, set, None)).encode() + b"\n"


def bundle(
    folder: Path, path: Path, set: dict[str, Any] | None = None, drop: list[str] | None = None
) -> bytes:
    """The Bundle file changed (paths from the Bundle: `entry.3.resource.status`)."""
    return json.dumps(_edited(json.loads(path.read_bytes()), set, drop)).encode()


def deep_line(folder: Path, path: Path, number: int, levels: int) -> bytes:
    """Line `number` replaced by an object holding `levels` nested arrays."""
    return line(folder, path, number, '{"a": ' + "[" * levels + "]" * levels + "}")


def long_line(folder: Path, path: Path, number: int, mib: int) -> bytes:
    """Line `number` replaced by a resource `mib` MiB long."""
    text = '{"resourceType": "Basic", "id": "long", "text": "' + "x" * (mib << 20) + '"}'
    return line(folder, path, number, text)


def prefixed(folder: Path, path: Path, hex: str) -> bytes:
    """The file with raw bytes before it (a byte order mark)."""
    return bytes.fromhex(hex) + path.read_bytes()


def _edited(node: Any, set: dict[str, Any] | None, drop: list[str] | None) -> Any:
    for dotted, value in (set or {}).items():
        *steps, last = _steps(dotted)
        _walk(node, steps)[last] = value
    for dotted in drop or []:
        *steps, last = _steps(dotted)
        del _walk(node, steps)[last]
    return node


def _steps(dotted: str) -> list[str | int]:
    return [int(s) if s.isdigit() else s for s in dotted.split(".")]


def _walk(node: Any, steps: list[str | int]) -> Any:
    for step in steps:
        node = node[step]
    return node


def deep_entry(folder: Path, path: Path, index: int, levels: int) -> bytes:
    """The Bundle with entry `index`'s resource holding `levels` nested arrays."""
    document = json.loads(path.read_bytes())
    document["entry"][index]["resource"]["note"] = json.loads("[" * levels + "]" * levels)
    return json.dumps(document).encode()


def repeated_entry(folder: Path, path: Path, index: int, set: dict[str, Any]) -> bytes:
    """The Bundle with a changed copy of entry `index` added at its end."""
    document = json.loads(path.read_bytes())
    again = json.loads(json.dumps(document["entry"][index]))
    document["entry"].append(_edited(again, set, None))
    return json.dumps(document).encode()
