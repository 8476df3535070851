"""Stream an ODM 1.3.2 file's ClinicalData into column buffers, one per wanted ItemGroup.

lxml's iterparse builds one ItemGroupData at a time; each is read and then removed from the
tree with its finished ancestors, so memory holds the values read, never the document."""

from __future__ import annotations

import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from lxml import etree

from trialbridge.converters.odm_metadata import Metadata, parse_metadata
from trialbridge.converters.xml_safety import refuse_doctype
from trialbridge.errors import UserError

REMOVED = "\x00removed"  # an ItemData with TransactionType Remove, until transactions apply
_CHUNK = 1 << 18
_TAGS = ("{*}MetaDataVersion", "{*}SubjectData", "{*}StudyEventData", "{*}FormData")
_LEVELS = {"SubjectData": 1, "StudyEventData": 3, "FormData": 5}


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


class _Reader:
    def __init__(self, path: Path, shown: str, wanted: set[str], metadata: Metadata | None):
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
        self.item_tag = self.form_tag = ""
        self.names: dict[str | None, str | None] = {}  # one str object per distinct key
        self.codes: dict[str | None, int] = {}

    def run(self) -> Streamed:
        refuse_doctype(self.path, self.shown)
        parsed = etree.iterparse(
            str(self.path),
            events=("end",),
            tag=(*_TAGS, "{*}ItemGroupData"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=True,
            remove_comments=True,
            remove_pis=True,
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
        return Streamed(self.meta, self.file_type, self.groups, contexts, names, self.tombstones)

    def _read(self, parsed: etree.iterparse) -> None:
        """End events only; the ItemGroupData test comes first: it is nearly every event."""
        group_tag = None
        for _, element in parsed:
            tag = element.tag
            if tag == group_tag:
                self._group(element)
                continue
            if group_tag is None:  # the first event: learn the namespace and file type
                namespace = tag[: tag.rfind("}") + 1]
                group_tag = namespace + "ItemGroupData"
                self.item_tag, self.form_tag = namespace + "ItemData", namespace + "FormData"
                self.file_type = element.getroottree().getroot().get("FileType", "Snapshot")
                if tag == group_tag:
                    self._group(element)
                    continue
            local = tag[tag.rfind("}") + 1 :]
            if local == "MetaDataVersion":
                meta = parse_metadata(element, self.shown)
                self.versions[meta.oid] = meta
                element.clear()
            elif local in _LEVELS:
                self._finish(element, local)

    def _group(self, element: etree._Element) -> None:
        form = element.getparent()
        if form is None or form.tag != self.form_tag:
            element.clear()  # ReferenceData holds ItemGroupData too: not a subject's record
            return
        if form is not self.form:
            self._enter(form)
        oid = element.get("ItemGroupOID", "")
        collected = self.groups.get(oid)
        if collected is None:
            assert self.meta is not None
            if oid not in self.meta.groups:
                raise UserError(
                    f"ItemGroupOID '{oid}' is not in the metadata "
                    f"(MetaDataVersion {self.meta.oid})",
                    f"{self.shown}, line {element.sourceline}",
                    "export the metadata with the data, or fix the OID",
                )
        else:
            self._collect(collected, element)
        self.position += 1
        element.clear()
        while element.getprevious() is not None:
            del form[0]

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
        index, item_tag = collected.index, self.item_tag
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
                f"ItemOID '{oid}' is not in the metadata (MetaDataVersion {self.meta.oid})",
                where,
                "export the metadata with the data, or fix the OID",
            )
        return UserError(
            f"ItemOID '{oid}' is not an item of ItemGroupDef {collected.oid}",
            where,
            "add an ItemRef to the ItemGroupDef, or move the ItemData to its group",
        )

    def _enter(self, form: etree._Element) -> None:
        """A new FormData: its keys and those of its event and subject, looked up once."""
        event = form.getparent()
        subject = event.getparent() if event is not None else None
        if subject is None or event is None:
            raise UserError(
                "FormData outside a StudyEventData and SubjectData",
                f"{self.shown}, line {form.sourceline}",
                "the export is not ODM 1.3.2 ClinicalData",
            )
        if self.meta is None:
            self.meta = self._version(subject.getparent())
            self._collectors()
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

    def _check_defined(self, element: etree._Element, attribute: str, defined: set[str]) -> None:
        value = element.get(attribute)
        if defined and value not in defined:
            assert self.meta is not None
            raise UserError(
                f"{attribute} '{value}' is not in the metadata (MetaDataVersion {self.meta.oid})",
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
            f"ClinicalData refers to MetaDataVersion '{wanted}', which the file does not hold",
            f"{self.shown}, line {clinical.sourceline if clinical is not None else 1}",
            f"the file has {', '.join(sorted(self.versions))}",
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
                    f"item group '{oid}' is not in the ODM metadata "
                    f"(MetaDataVersion {self.meta.oid})",
                    self.shown,
                    f"use one of: {', '.join(sorted(self.meta.groups))}",
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


def syntax_error(exc: etree.XMLSyntaxError, path: Path, shown: str) -> UserError:
    """One line for a parser error: an encoding problem, or malformed XML, with its place."""
    line, column = exc.position if exc.position else (exc.lineno, exc.offset)
    message = str(exc.msg).split("\n")[0].split(", line ")[0].strip()
    where = f"{shown}, line {line}, column {column}"
    if "encoding" in message.lower() or "not proper UTF" in message:
        encoding = _declared_encoding(path)
        found = _bad_byte(path, line, encoding)
        what = f"byte {found} is not valid {encoding}" if found else message
        return UserError(
            what, where, "save the export as UTF-8, or declare its encoding in the XML declaration"
        )
    return UserError(
        f"malformed XML: {message}", where, "fix the file or export it again from the EDC"
    )


def _declared_encoding(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(200)
    found = re.search(rb"""encoding=["']([A-Za-z0-9._-]+)["']""", head.split(b"?>")[0])
    return found.group(1).decode("ascii").upper() if found else "UTF-8"


def _bad_byte(path: Path, line: int, encoding: str) -> str | None:
    """The first byte of the line that the declared encoding cannot decode."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == line:
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    return f"0x{raw[exc.start]:02X}"
                except LookupError:
                    return None
                return None
    return None
