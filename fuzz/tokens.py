"""Dictionary tokens for libFuzzer, harvested from the seeds where the format allows it (JSON
keys, XML element and attribute names) so the mutator can splice in the names a reader looks
for; and the dictionary file format."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import get_args

import orjson
from lxml import etree
from pydantic import BaseModel

_NAME = re.compile(rb"^[A-Za-z_][\w.:-]{0,63}$")


def json_keys(documents: Iterable[bytes]) -> set[bytes]:
    """Every object key of the JSON documents or NDJSON lines, quoted, and the short text
    values that look like names (resource types, codes, data types, URLs)."""
    found: set[bytes] = set()
    for document in documents:
        for line in document.splitlines() or [document]:
            try:
                _walk(orjson.loads(line), found)
            except orjson.JSONDecodeError:
                continue
    return found


def _walk(value: object, found: set[bytes]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(b'"' + key.encode() + b'":')
            _walk(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _walk(inner, found)
    elif isinstance(value, str) and len(value) <= 80 and value.isascii() and " " not in value:
        found.add(b'"' + value.encode() + b'"')


def xml_names(documents: Iterable[bytes]) -> set[bytes]:
    """Every element name (as `<Name` and `</Name>`) and attribute name (as `Name="`)."""
    found: set[bytes] = set()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    for document in documents:
        try:
            root = etree.fromstring(document, parser)
        except etree.XMLSyntaxError:
            continue
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname.encode()
            found |= {b"<" + local, b"</" + local + b">"}
            found |= {etree.QName(a).localname.encode() + b'="' for a in element.attrib}
    return {token for token in found if _NAME.match(token.strip(b'<>/="'))}


def dictionary(tokens: Iterable[bytes]) -> str:
    """libFuzzer's dictionary format: one quoted token a line, bytes outside printable ASCII
    (and the quote and backslash) as \\xNN."""
    lines = []
    for token in sorted(set(tokens)):
        if not token:
            continue
        body = "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02X}" for b in token
        )
        lines.append(f'"{body}"')
    return "\n".join(lines) + "\n"


def model_keys(model: type[BaseModel]) -> set[bytes]:
    """Every field name of a pydantic model and of the models its fields hold, as `name: `."""
    found: set[bytes] = set()
    todo, seen = [model], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            found.add((info.alias or name).encode() + b": ")
            todo += _models_in(info.annotation)
    return found


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


YAML_SYNTAX = (
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"&anchor ",
    b"*anchor",
    b"<<: ",
    b"!!str ",
    b"!!python/object/apply:os.system ",
    b"!custom ",
    b"? ",
    b"- ",
    b": ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"|\n",
    b">-\n",
    b"'",
    b'"',
    b"\\x00",
    b"\\u2028",
    b"~",
    b"null",
    b".nan",
    b".inf",
    b"-.inf",
    b"1e999",
    b"0x1F",
    b"2022-02-30",
    b"\t",
    b"\xef\xbb\xbf",
)
