"""Refuse XML that could reach outside the file or blow up when parsed: any DOCTYPE, a prolog
too long to look through, and bytes that are not the text the file declares.

An EDC export never needs a DTD. Refusing the DOCTYPE before parsing names the danger
(an external entity, an entity-expansion bomb) instead of a parser's generic complaint, and
the parser is also run with entities, DTD loading and network access off, and lxml's size
and depth limits on (huge_tree off): `SAFE` holds those options for every parser here."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from trialbridge.errors import UserError

PROLOG_BYTES = 1 << 20
SAFE = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False}
_DOCTYPE = re.compile(r"<!DOCTYPE\b")
_ROOT = re.compile(r"<[A-Za-z_]")
_ENTITY = re.compile(
    r"<!ENTITY\s+(?P<param>%\s+)?(?P<name>[^\s>]+)\s+"
    r"(?:(?P<ext>SYSTEM|PUBLIC)\s+(?P<target>(\"[^\"]*\"|'[^']*')(\s+(\"[^\"]*\"|'[^']*'))?)"
    r"|(?P<value>\"[^\"]*\"|'[^']*'))"
)
# comments and processing instructions (the XML declaration too), to their end or the head's
_HIDDEN = re.compile(r"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)", re.S)
_REFERENCE = re.compile(r"[&%][A-Za-z_][\w.-]*;")
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_FIX = "an ODM export needs no DTD: remove the DOCTYPE declaration or export the file again"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def refuse_doctype(path: Path, shown: str, fix: str = _FIX) -> None:
    """Raise a one-line error when the prolog (everything before the root element) holds a
    DOCTYPE, saying what its entities would do, or is too long to look through."""
    with path.open("rb") as handle:
        head = handle.read(PROLOG_BYTES + 1)
    check_prolog(head[:PROLOG_BYTES], shown, len(head) <= PROLOG_BYTES, fix)


def check_prolog(head: bytes, shown: str, whole: bool, fix: str = _FIX) -> None:
    """`head` is the file's start (`whole`: all of it). Refuse a DOCTYPE in the prolog, a
    prolog longer than the head, and text whose bytes contradict its declared encoding."""
    _check_encoding(head, shown)
    prolog = _prolog(head)
    if prolog is None and not whole:
        raise UserError(
            f"no root element in the first {len(head):,} bytes",
            shown,
            "an export starts with its root element: check that this is the XML export",
        )
    prolog = prolog if prolog is not None else _visible(_decoded(head))
    doctype = _DOCTYPE.search(prolog)
    if doctype is None:
        return
    line = prolog.count("\n", 0, doctype.start()) + 1
    column = doctype.start() - (prolog.rfind("\n", 0, doctype.start()) + 1) + 1
    where = f"{shown}, line {line}, column {column}"
    raise UserError(_danger(prolog[doctype.start() :]), where, fix)


def doctype_line(head: bytes) -> int | None:
    """The line of a DOCTYPE in the prolog of `head` (the file's start), if it has one."""
    prolog = _prolog(head)
    found = _DOCTYPE.search(prolog if prolog is not None else _visible(_decoded(head)))
    return None if found is None else found.string.count("\n", 0, found.start()) + 1


def _prolog(head: bytes) -> str | None:
    """What comes before the root element, comments and processing instructions blanked (a
    DOCTYPE or a tag inside a comment is text); None when the head holds no root element."""
    text = _visible(_decoded(head))
    root = _ROOT.search(text)
    return text[: root.start()] if root else None


def _visible(text: str) -> str:
    """The text with comments and processing instructions blanked, newlines kept, so lines and
    columns still count from the file."""
    return _HIDDEN.sub(lambda hidden: re.sub(r"[^\n]", " ", hidden.group()), text)


def _check_encoding(head: bytes, shown: str) -> None:
    """NUL bytes without a UTF-16/32 byte order mark, or a UTF-16/32 declaration over 8-bit
    bytes: the parser's own complaint would not say that the encoding is the problem."""
    if any(head.startswith(bom) for bom, _ in _BOMS):
        return
    declared = _DECLARED.match(head)
    wide = declared is not None and declared.group(1).upper().startswith((b"UTF-16", b"UTF-32"))
    if b"\x00" in head[:4096] and not wide:
        raise UserError(
            "the file holds NUL bytes (0x00) and no byte order mark: UTF-16 without its mark, "
            "or not a text file",
            shown,
            "save the export as UTF-8",
        )
    if wide and b"\x00" not in head[:4096]:
        assert declared is not None
        raise UserError(
            f"the XML declaration says encoding {declared.group(1).decode()}, but the bytes "
            "are not UTF-16 or UTF-32",
            f"{shown}, line 1",
            "save the export as UTF-8 and declare encoding UTF-8",
        )


def _decoded(head: bytes) -> str:
    """The prolog as text; the BOM says UTF-16 or UTF-32, else the ASCII-compatible bytes
    are enough to find markup."""
    for bom, encoding in _BOMS:
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
    return "a DOCTYPE (DTD) is not allowed"
