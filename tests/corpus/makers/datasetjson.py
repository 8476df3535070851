"""Damaged Dataset-JSON files, made from the case's own: fields set or deleted by a dotted
path (columns.3.dataType, rows.2.14), raw JSON text put in a place, rows nested deep, and
the file as NDJSON with a line of one's choosing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_RAW = "\0raw-{}\0"  # a placeholder the raw JSON text replaces after dumping


def edited(
    folder: Path,
    path: Path,
    set: dict[str, Any] | None = None,
    delete: list[str] | None = None,
    raw: dict[str, str] | None = None,
) -> bytes:
    """The file with `set` values (JSON) and `raw` text (numbers JSON cannot dump) placed at
    dotted paths, and `delete` paths removed."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for place, value in (set or {}).items():
        _put(document, place, value)
    for number, place in enumerate(raw or {}):
        _put(document, place, _RAW.format(number))
    for place in delete or []:
        parent, key = _parent(document, place)
        del parent[key]
    text = json.dumps(document, separators=(",", ":"))
    for number, value in enumerate((raw or {}).values()):
        text = text.replace(json.dumps(_RAW.format(number)), value)
    return text.encode()


def _parent(document: Any, place: str) -> tuple[Any, Any]:
    *steps, last = place.split(".")
    node = document
    for step in steps:
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node, int(last) if isinstance(node, list) else last


def _put(document: Any, place: str, value: Any) -> None:
    parent, key = _parent(document, place)
    parent[key] = value


def deep_rows(folder: Path, path: Path, depth: int) -> bytes:
    """The file with its rows replaced by one value nested `depth` arrays deep."""
    head = path.read_text(encoding="utf-8").split(',"rows":')[0]
    return (head + ',"rows":' + "[" * depth + "]" * depth + "}").encode()


def as_ndjson(
    folder: Path, path: Path, source: str, line: int | None = None, text: str | None = None
) -> bytes:
    """`source` (a Dataset-JSON file) as NDJSON, with line number `line` (1 = the metadata)
    replaced by `text` when given."""
    document = json.loads((folder / source).read_text(encoding="utf-8"))
    rows = document.pop("rows")
    lines = [json.dumps(document, separators=(",", ":"))]
    lines += [json.dumps(row, separators=(",", ":")) for row in rows]
    if line is not None:
        lines[line - 1] = text or ""
    return ("\n".join(lines) + "\n").encode()


def many_columns(folder: Path, path: Path, count: int) -> bytes:
    """A dataset of `count` text columns and no rows."""
    columns = [{"itemOID": f"IT.C{n}", "name": f"C{n}", "dataType": "string"} for n in range(count)]
    return json.dumps({"name": "ZZ", "columns": columns, "rows": []}).encode()


def copied(folder: Path, path: Path, source: str) -> bytes:
    """Another file of the folder as it is (a backup copy left beside it)."""
    return (folder / source).read_bytes()
