"""Stream an ODM 1.3.2 file's ClinicalData into column buffers, one per wanted ItemGroup.

lxml's iterparse builds one ItemGroupData at a time; each is read and then removed from the
tree with its finished ancestors, so memory holds the values read, never the document."""

from __future__ import annotations

import codecs
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from lxml import etree

from trialbridge.converters.odm_metadata import NAMESPACE, Metadata, parse_metadata
from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError
from trialbridge.xml_safety import SAFE, refuse_doctype

REMOVED = "\x00removed"  # an ItemData with TransactionType Remove, until transactions apply
_CHUNK = 1 << 18
_SCAN = 4 << 20
_NS = f"{{{NAMESPACE}}}"
_LEVELS = {"SubjectData": 1, "StudyEventData": 3, "FormData": 5}
_TAGS = tuple(_NS + name for name in ("MetaDataVersion", "ItemGroupData", *_LEVELS))
_GROUP, _ITEM, _FORM, _EVENT, _SUBJECT, _CLINICAL, _REFERENCE = (
    _NS + name
    for name in (
        *("ItemGroupData", "ItemData", "FormData", "StudyEventData", "SubjectData"),
        *("ClinicalData", "ReferenceData"),
    )
)
_FIX_ODM = "export the data as CDISC ODM 1.3.2 (ODM 1.2 and 2.0 files are not read)"


@dataclass(frozen=True)
class Records:
    """One ItemGroup's records as arrays: per record its form instance (an index into the
    contexts), repeat key, line, position in the file and removal; per value its record,
    item slot and text."""

    contexts: np.ndarray
    repeat_keys: pa.Array
    lines: np.ndarray
    positions: np.ndarray
    removed: np.ndarray
    rows: np.ndarray
    slots: np.ndarray
    values: pa.Array | pa.ChunkedArray

    def __len__(self) -> int:
        return len(self.contexts)


@dataclass
class Collected:
    """One ItemGroup being read: C arrays for numbers and a list for the latest values,
    moved into compact arrays every _CHUNK values, so what is held grows with the values."""

    oid: str
    items: list[str]
    index: dict[str, int]
    count: int = 0
    contexts: array = field(default_factory=lambda: array("i"))
    repeat_keys: list[str | None] = field(default_factory=list)
    lines: array = field(default_factory=lambda: array("q"))
    positions: array = field(default_factory=lambda: array("q"))
    removed: array = field(default_factory=lambda: array("b"))
    rows: array = field(default_factory=lambda: array("i"))
    slots: array = field(default_factory=lambda: array("h"))
    values: list[str] = field(default_factory=list)
    chunks: list[Records] = field(default_factory=list)

    def flush(self) -> None:
        """Move the latest records and values into arrays."""
        if not self.contexts and not self.values:
            return
        self.chunks.append(
            Records(
                contexts=np.frombuffer(self.contexts, dtype=np.int32),
                repeat_keys=pa.array(self.repeat_keys, pa.string()),
                lines=np.frombuffer(self.lines, dtype=np.int64),
                positions=np.frombuffer(self.positions, dtype=np.int64),
                removed=np.frombuffer(self.removed, dtype=np.int8).astype(bool),
                rows=np.frombuffer(self.rows, dtype=np.int32),
                slots=np.frombuffer(self.slots, dtype=np.int16),
                values=pa.array(self.values, pa.string()),
            )
        )
        self.contexts, self.lines, self.positions = array("i"), array("q"), array("q")
        self.removed, self.rows, self.slots = array("b"), array("i"), array("h")
        self.repeat_keys, self.values = [], []

    def records(self) -> Records:
        """All records read, after the pass; the chunks are handed over, not kept."""
        self.flush()
        chunks, self.chunks = self.chunks or [_EMPTY], []
        return Records(
            contexts=np.concatenate([c.contexts for c in chunks]),
            repeat_keys=pa.concat_arrays([c.repeat_keys for c in chunks]),
            lines=np.concatenate([c.lines for c in chunks]),
            positions=np.concatenate([c.positions for c in chunks]),
            removed=np.concatenate([c.removed for c in chunks]),
            rows=np.concatenate([c.rows for c in chunks]),
            slots=np.concatenate([c.slots for c in chunks]),
            values=pa.chunked_array([c.values for c in chunks], pa.string()),
        )


_EMPTY = Records(
    np.zeros(0, np.int32),
    pa.array([], pa.string()),
    np.zeros(0, np.int64),
    np.zeros(0, np.int64),
    np.zeros(0, bool),
    np.zeros(0, np.int32),
    np.zeros(0, np.int16),
    pa.array([], pa.string()),
)


@dataclass
class Streamed:
    """What a pass over the file produced."""

    metadata: Metadata
    file_type: str
    groups: dict[str, Collected]
    contexts: np.ndarray  # one row per FormData: codes into `names` of its six keys
    names: list[str | None]
    tombstones: list[tuple[int, tuple[str | None, ...], int]]
    reference: dict[str, int]  # ItemGroupData under ReferenceData, by ItemGroupOID


class _Reader:
    def __init__(self, path: Path, shown: str, wanted: set[str], metadata: Metadata | None) -> None:
        self.path, self.shown, self.wanted = path, shown, wanted
        self.versions: dict[str, Metadata] = {}
        self.external = metadata
        self.meta: Metadata | None = None
        self.groups: dict[str, Collected] = {}
        self.contexts = array("i")
        self.tombstones: list[tuple[int, tuple[str | None, ...], int]] = []
        self.form: etree._Element | None = None
        self.subject: etree._Element | None = None
        self.site: str | None = None
        self.context = -1
        self.container_removed = False
        self.position = 0
        self.file_type = "Snapshot"
        self.reference: dict[str, int] = {}
        self.clinical: etree._Element | None = None
        self.names: dict[str | None, str | None] = {}  # one str object per distinct key
        self.codes: dict[str | None, int] = {}

    def run(self) -> Streamed:
        refuse_doctype(self.path, self.shown)
        self.file_type = _check_root(self.path, self.shown)
        parsed = etree.iterparse(
            str(self.path),
            events=("end",),
            tag=_TAGS,
            remove_blank_text=True,
            remove_comments=True,
            remove_pis=True,
            **SAFE,
        )
        try:
            self._read(parsed)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, self.path, self.shown) from None
        if self.meta is None:
            self.meta = self._only_version()
            self._collectors()
        contexts = np.frombuffer(self.contexts, dtype=np.int32).reshape(-1, 6)
        names = list(self.codes)
        return Streamed(
            self.meta,
            self.file_type,
            self.groups,
            contexts,
            names,
            self.tombstones,
            self.reference,
        )

    def _read(self, parsed: etree.iterparse) -> None:
        """End events only; the ItemGroupData test comes first: it is nearly every event."""
        for _, element in parsed:
            tag = element.tag
            if tag == _GROUP:
                self._group(element)
                continue
            local = tag[len(_NS) :]
            if local == "MetaDataVersion":
                meta = parse_metadata(element, self.shown)
                self.versions[meta.oid] = meta
                element.clear()
            elif local in _LEVELS:
                self._finish(element, local)

    def _group(self, element: etree._Element) -> None:
        form = element.getparent()
        if form is None or form.tag != _FORM:
            self._outside_form(element, form)
            return
        if form is not self.form:
            self._enter(form)
        oid = element.get("ItemGroupOID", "")
        collected = self.groups.get(oid)
        if collected is None:
            assert self.meta is not None
            if oid not in self.meta.groups:
                raise UserError(
                    f"ItemGroupOID '{shown_value(oid)}' is not in the metadata "
                    f"(MetaDataVersion {shown_value(self.meta.oid)})",
                    f"{self.shown}, line {element.sourceline}",
                    "export the metadata with the data, or fix the OID",
                )
        else:
            self._collect(collected, element)
        self.position += 1
        element.clear()
        while element.getprevious() is not None:
            del form[0]

    def _outside_form(self, element: etree._Element, parent: etree._Element | None) -> None:
        """ReferenceData holds ItemGroupData that are no subject's records: counted, not
        read. Anywhere else an ItemGroupData is misplaced."""
        if parent is None or parent.tag != _REFERENCE:
            where = _name(parent) if parent is not None else "the document"
            raise UserError(
                f"ItemGroupData inside {where}, not inside a FormData",
                f"{self.shown}, line {element.sourceline}",
                "in ODM 1.3.2 a subject's ItemGroupData sits in SubjectData / StudyEventData "
                "/ FormData: export the file again from the EDC",
            )
        oid = element.get("ItemGroupOID", "")
        self.reference[oid] = self.reference.get(oid, 0) + 1
        element.clear()
        while element.getprevious() is not None:
            del parent[0]

    def _collect(self, collected: Collected, element: etree._Element) -> None:
        record = collected.count
        collected.count += 1
        removed = self.container_removed or element.get("TransactionType") == "Remove"
        collected.contexts.append(self.context)
        repeat = element.get("ItemGroupRepeatKey")
        collected.repeat_keys.append(self.names.setdefault(repeat, repeat))
        collected.lines.append(element.sourceline or 0)
        collected.positions.append(self.position)
        collected.removed.append(removed)
        index, item_tag = collected.index, _ITEM
        add_row, add_slot, add_value = (
            collected.rows.append,
            collected.slots.append,
            collected.values.append,
        )
        transactional = self.file_type == "Transactional"
        for item in element:
            slot = index.get(item.get("ItemOID"))  # type: ignore[arg-type]
            value = item.get("Value")  # none when IsNull="Yes"
            if slot is None or value is None or transactional:
                if item.tag != item_tag and not item.tag.startswith(item_tag):
                    continue  # an AuditRecord, Signature or Annotation
                if slot is None:
                    raise self._unknown_item(collected, item)
                value = _value(item, value, item_tag, transactional)
                if value is None:
                    continue
            add_row(record)
            add_slot(slot)
            add_value(value)
        values = collected.values
        if len(values) >= _CHUNK or len(collected.contexts) >= _CHUNK:
            collected.flush()

    def _unknown_item(self, collected: Collected, item: etree._Element) -> UserError:
        assert self.meta is not None
        oid = item.get("ItemOID")
        where = f"{self.shown}, line {item.sourceline}"
        if oid not in self.meta.items:
            return UserError(
                f"ItemOID '{shown_value(oid)}' is not in the metadata "
                f"(MetaDataVersion {shown_value(self.meta.oid)})",
                where,
                "export the metadata with the data, or fix the OID",
            )
        return UserError(
            f"ItemOID '{shown_value(oid)}' is not an item of ItemGroupDef "
            f"{shown_value(collected.oid)}",
            where,
            "add an ItemRef to the ItemGroupDef, or move the ItemData to its group",
        )

    def _enter(self, form: etree._Element) -> None:
        """A new FormData: its keys and those of its event and subject, looked up once."""
        event = form.getparent()
        subject = event.getparent() if event is not None else None
        clinical = subject.getparent() if subject is not None else None
        if (
            clinical is None
            or clinical.tag != _CLINICAL
            or subject.tag != _SUBJECT
            or event.tag != _EVENT
        ):
            raise UserError(
                "FormData outside a StudyEventData and SubjectData",
                f"{self.shown}, line {form.sourceline}",
                "the export is not ODM 1.3.2 ClinicalData",
            )
        if self.meta is None:
            self.meta = self._version(clinical)
            self._collectors()
        if clinical is not self.clinical:
            self._check_version(clinical)
        if subject is not self.subject:
            self.subject = subject
            self.site = next(
                (c.get("LocationOID") for c in subject if c.tag.endswith("SiteRef")), None
            )
        self._check_defined(event, "StudyEventOID", self.meta.events)
        self._check_defined(form, "FormOID", self.meta.forms)
        self.form = form
        self.container_removed = any(
            e.get("TransactionType") == "Remove" for e in (form, event, subject)
        )
        keys = (
            subject.get("SubjectKey"),
            self.site,
            event.get("StudyEventOID"),
            event.get("StudyEventRepeatKey"),
            form.get("FormOID"),
            form.get("FormRepeatKey"),
        )
        self.contexts.extend(self.codes.setdefault(k, len(self.codes)) for k in keys)
        self.context = len(self.contexts) // 6 - 1

    def _check_version(self, clinical: etree._Element) -> None:
        """Every ClinicalData of the file is read with one MetaDataVersion."""
        self.clinical = clinical
        wanted = clinical.get("MetaDataVersionOID")
        assert self.meta is not None
        if self.external is None and wanted != self.meta.oid:
            raise UserError(
                f"this ClinicalData refers to MetaDataVersion '{shown_value(wanted)}', an "
                f"earlier one to '{shown_value(self.meta.oid)}'",
                f"{self.shown}, line {clinical.sourceline}",
                "export the data of one MetaDataVersion per file",
            )

    def _check_defined(self, element: etree._Element, attribute: str, defined: set[str]) -> None:
        value = element.get(attribute)
        if defined and value not in defined:
            assert self.meta is not None
            raise UserError(
                f"{attribute} '{shown_value(value)}' is not in the metadata "
                f"(MetaDataVersion {shown_value(self.meta.oid)})",
                f"{self.shown}, line {element.sourceline}",
                "export the metadata with the data, or fix the OID",
            )

    def _finish(self, element: etree._Element, local: str) -> None:
        """A subject, event or form ends: note a Remove, then drop it from the tree."""
        if element.get("TransactionType") == "Remove":
            self.tombstones.append((_LEVELS[local], _keys(element, local), self.position))
        parent = element.getparent()
        element.clear()
        if parent is not None:
            while (previous := element.getprevious()) is not None and previous.tag == element.tag:
                parent.remove(previous)

    def _version(self, clinical: etree._Element | None) -> Metadata:
        if self.external is not None:
            return self.external
        wanted = clinical.get("MetaDataVersionOID") if clinical is not None else None
        if wanted in self.versions:
            return self.versions[wanted]
        if not self.versions:
            raise UserError(
                "no MetaDataVersion before the ClinicalData",
                self.shown,
                "export the study metadata with the data, or name a metadata file with "
                "'metadata:' for this source in study.yaml",
            )
        raise UserError(
            f"ClinicalData refers to MetaDataVersion '{shown_value(wanted)}', which the file "
            "does not hold",
            f"{self.shown}, line {clinical.sourceline if clinical is not None else 1}",
            f"the file has {listed(self.versions)}",
        )

    def _only_version(self) -> Metadata:
        """Metadata when the file holds no ClinicalData at all."""
        if self.external is not None:
            return self.external
        if len(self.versions) == 1:
            return next(iter(self.versions.values()))
        return self._version(None)

    def _collectors(self) -> None:
        assert self.meta is not None
        for oid in sorted(self.wanted):
            refs = self.meta.groups.get(oid)
            if refs is None:
                raise UserError(
                    f"item group '{shown_value(oid)}' is not in the ODM metadata "
                    f"(MetaDataVersion {shown_value(self.meta.oid)})",
                    self.shown,
                    f"use one of: {listed(self.meta.groups)}",
                )
            self.groups[oid] = Collected(oid, refs, {item: i for i, item in enumerate(refs)})


def _value(
    item: etree._Element, value: str | None, item_tag: str, transactional: bool
) -> str | None:
    """The slow path: a removed item, an IsNull item, or a typed ItemDataString (ODM 1.3's
    value-as-text form)."""
    if transactional and item.get("TransactionType") == "Remove":
        return REMOVED
    if item.tag != item_tag and item.get("IsNull") != "Yes":
        return item.text or ""
    return value


def _keys(element: etree._Element, local: str) -> tuple[str | None, ...]:
    """The key prefix a removed container covers: subject [, event, repeat [, form, repeat]]."""
    chain = [element]
    while len(chain) < {"SubjectData": 1, "StudyEventData": 2, "FormData": 3}[local]:
        parent = chain[-1].getparent()
        assert parent is not None
        chain.append(parent)
    subject, *rest = reversed(chain)
    keys: list[str | None] = [subject.get("SubjectKey")]
    names = (("StudyEventOID", "StudyEventRepeatKey"), ("FormOID", "FormRepeatKey"))
    for element_, (oid, repeat) in zip(rest, names, strict=False):
        keys += [element_.get(oid), element_.get(repeat)]
    return tuple(keys)


def stream(path: Path, shown: str, wanted: set[str], metadata: Metadata | None = None) -> Streamed:
    """Read the file once, collecting the wanted ItemGroups."""
    return _Reader(path, shown, wanted, metadata).run()


def read_metadata(path: Path, shown: str) -> Metadata:
    """The only (or the last) MetaDataVersion of a metadata-only ODM file."""
    streamed = stream(path, shown, set())
    return streamed.metadata


def _name(element: etree._Element) -> str:
    """An element's name without its namespace."""
    return str(element.tag).rpartition("}")[2]


def listed(names: Iterable[str], most: int = 20) -> str:
    """Names from the file for a fix to choose from: sorted, escaped, at most `most`."""
    ordered = sorted(names)
    shown = ", ".join(shown_value(name) for name in ordered[:most])
    return shown + (f", ... ({len(ordered):,} in all)" if len(ordered) > most else "")


def _check_root(path: Path, shown: str) -> str:
    """The root element must be ODM in the ODM 1.3 namespace (a file in another namespace
    would otherwise read as empty); returns its FileType."""
    with path.open("rb") as handle:  # closed as soon as the root is read
        try:
            _, root = next(etree.iterparse(handle, events=("start",), **SAFE))
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, path, shown) from None
    # from the tag as parsed: lxml hands over a start tag before it has checked that its name is
    # one (<o:/>), and etree.QName would raise ValueError
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    where = f"{shown}, line {root.sourceline}"
    if _name(root) != "ODM":
        found = f" in namespace '{shown_value(namespace)}'" if namespace else ""
        raise UserError(
            f"the root element is {shown_value(_name(root))}{found}, not ODM",
            where,
            "give the study's CDISC ODM 1.3.2 export (its root element is ODM)",
        )
    if namespace != NAMESPACE:
        found = f"namespace '{shown_value(namespace)}'" if namespace else "no namespace"
        raise UserError(
            f"the ODM element is in {found}, not in the ODM 1.3 namespace '{NAMESPACE}'",
            where,
            _FIX_ODM,
        )
    return root.get("FileType", "Snapshot")


def syntax_error(exc: etree.XMLSyntaxError, path: Path, shown: str) -> UserError:
    """One line for a parser error: an encoding problem, a parser limit, or malformed XML,
    with its place."""
    line, column = exc.position if exc.position else (exc.lineno, exc.offset)
    # the parser quotes the input (names, URIs): shown escaped and cut as any value is
    message = shown_value(str(exc.msg).split("\n")[0].split(", line ")[0].strip(), 200)
    where = f"{shown}, line {line}, column {column}"
    if "encoding" in message.lower() or "not proper UTF" in message:
        encoding = _declared_encoding(path)
        found = _bad_byte(path, line, encoding)
        what = f"byte {found} is not valid {encoding}" if found else message
        return UserError(
            what, where, "save the export as UTF-8, or declare its encoding in the XML declaration"
        )
    if message in ("no element found", "Document is empty") or line == 0:
        return UserError("the file holds no XML element", shown, "export the file again")
    for words, what, placed in _LIMITS:
        if words in message:  # past a size limit the parser's place is where it gave up
            place = where if placed else shown
            return UserError(what, place, "no ODM export looks like this: check the file")
    truncated = re.match(r"Premature end of data in tag (\S+) line (\d+)", message)
    if truncated or _at_end(path, line, column):
        inside = (
            f" inside element {shown_value(truncated[1])} (opened at line {truncated[2]})"
            if truncated
            else ""
        )
        return UserError(
            f"the file ends{inside} before its XML is complete: it is cut short",
            where,
            "copy or export the file again: the copy is incomplete",
        )
    return UserError(
        f"malformed XML: {message}", where, "fix the file or export it again from the EDC"
    )


# lxml's limits (huge_tree off) in its words, and in ours
_LIMITS = (
    ("Excessive depth", "elements nest more than 256 deep (the XML parser's limit)", True),
    ("Buffer size limit", "a value or name is longer than the XML parser's limit of 10 MB", False),
    ("AttValue length too long", "a value is longer than the XML parser's limit of 10 MB", False),
    ("Text node too long", "a text is longer than the XML parser's limit of 10 MB", False),
    ("Huge input lookup", "a value or name is longer than the XML parser's limit of 10 MB", False),
    ("Maximum entity amplification", "entities expand beyond the XML parser's limit", True),
)


def _declared_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(200)
    found = re.search(rb"""encoding=["']([A-Za-z0-9._-]+)["']""", head.split(b"?>")[0])
    return found.group(1).decode("ascii").upper() if found else "UTF-8"


def _bad_byte(path: Path, line: int, encoding: str) -> str | None:
    """The first byte of line `line` that the declared encoding cannot decode, read on to the
    line's end however long it is."""
    start = _line_start(path, line)
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        return None
    if start is None:
        return None
    with path.open("rb") as handle:
        handle.seek(start)
        while block := handle.read(_SCAN):
            end = block.find(b"\n")
            if end >= 0:
                return _undecodable(decoder, block[:end], final=True)
            found = _undecodable(decoder, block, final=False)
            if found:
                return found
    return _undecodable(decoder, b"", final=True)


def _undecodable(decoder: codecs.IncrementalDecoder, data: bytes, final: bool) -> str | None:
    """The byte the decoder stops at, if it does (a decoder may also refuse the stream as a
    whole: UTF-16 without its byte order mark, which names no byte)."""
    try:
        decoder.decode(data, final=final)
    except UnicodeDecodeError as exc:
        return f"0x{exc.object[exc.start]:02X}"
    except UnicodeError:
        return None
    return None


def _line_start(path: Path, line: int) -> int | None:
    """The byte offset where line `line` (from 1) starts, found block by block."""
    before, offset = 1, 0
    with path.open("rb") as handle:
        while block := handle.read(_SCAN):
            newlines = block.count(b"\n")
            if before + newlines >= line:
                at = -1
                for _ in range(line - before):
                    at = block.index(b"\n", at + 1)
                return offset + at + 1
            before += newlines
            offset += len(block)
    return offset if before == line else None


def _at_end(path: Path, line: int, column: int) -> bool:
    """Whether the parser stopped at the very end of the file (past the last character of
    the last line, or on the line after it): the file is cut short there. lxml counts
    columns in characters from 1."""
    utf8 = _declared_encoding(path).replace("-", "") == "UTF8"
    lines, width = 1, 0  # the line the end is on, and its characters
    with path.open("rb") as handle:
        while block := handle.read(_SCAN):
            newline = block.rfind(b"\n")
            if newline >= 0:
                lines += block.count(b"\n")
                width = 0
            tail = block[newline + 1 :]
            width += len(tail.translate(None, _CONTINUATION) if utf8 else tail)
    return (line, column) >= (lines, width + 1) if width else line >= lines


_CONTINUATION = bytes(range(0x80, 0xC0))  # the bytes that continue a UTF-8 character
