"""Refuse XML that could reach outside the file or blow up when parsed: any DOCTYPE.

An EDC export never needs a DTD. Refusing the DOCTYPE before parsing names the danger
(an external entity, an entity-expansion bomb) instead of a parser's generic complaint, and
the parser is also run with entities, DTD loading and network access off."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from trialbridge.errors import UserError

_PROLOG_BYTES = 1 << 20
_DOCTYPE = re.compile(r"<!DOCTYPE\b")
_ROOT = re.compile(r"<[A-Za-z_]")
_ENTITY = re.compile(
    r"<!ENTITY\s+(?P<param>%\s+)?(?P<name>[^\s>]+)\s+"
    r"(?:(?P<ext>SYSTEM|PUBLIC)\s+(?P<target>(\"[^\"]*\"|'[^']*')(\s+(\"[^\"]*\"|'[^']*'))?)"
    r"|(?P<value>\"[^\"]*\"|'[^']*'))"
)
_REFERENCE = re.compile(r"[&%][A-Za-z_][\w.-]*;")
_FIX = "an ODM export needs no DTD: remove the DOCTYPE declaration or export the file again"


def refuse_doctype(path: Path, shown: str) -> None:
    """Raise a one-line error when the prolog (everything before the root element) holds a
    DOCTYPE, saying what its entities would do."""
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_BYTES)
    text = _decoded(head)
    root = _ROOT.search(text)
    prolog = text[: root.start()] if root else text
    doctype = _DOCTYPE.search(prolog)
    if doctype is None:
        return
    line = prolog.count("\n", 0, doctype.start()) + 1
    column = doctype.start() - (prolog.rfind("\n", 0, doctype.start()) + 1) + 1
    where = f"{shown}, line {line}, column {column}"
    raise UserError(_danger(prolog[doctype.start() :]), where, _FIX)


def _decoded(head: bytes) -> str:
    """The prolog as text; the BOM says UTF-16 or UTF-32, else the ASCII-compatible bytes
    are enough to find markup."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="replace")
    return head.decode("latin-1")


def _danger(doctype: str) -> str:
    entities = list(_ENTITY.finditer(doctype))
    external = next((e for e in entities if e["ext"]), None)
    if external is not None:
        target = " ".join(external["target"].split())
        return (
            f"XML external entity '{external['name']}' ({external['ext']} {target}) is not "
            "allowed: it would read a file or URL while parsing"
        )
    nested = next((e for e in entities if _REFERENCE.search(e["value"] or "")), None)
    if nested is not None:
        return (
            f"XML entity '{nested['name']}' expands other entities (an entity-expansion bomb) "
            "and is not allowed"
        )
    if entities:
        return f"XML entity '{entities[0]['name']}' is declared in a DOCTYPE, which is not allowed"
    return "a DOCTYPE (DTD) is not allowed in an ODM export"
