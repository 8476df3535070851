"""Stream an ODM 1.3.2 file's ClinicalData into column buffers, one per wanted ItemGroup.

lxml's iterparse builds one ItemGroupData at a time; each is read and then removed from the
tree with its finished ancestors, so memory holds the values read, never the document."""

from __future__ import annotations

import re
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


@dataclass
class Collected:
    """One ItemGroup's records: per-record keys, and (record, item, value) triplets."""

    oid: str
    items: list[str]
    index: dict[str, int]
    contexts: list[int] = field(default_factory=list)
    repeat_keys: list[str | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    removed: list[bool] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    chunks: list[tuple[np.ndarray, np.ndarray, pa.Array]] = field(default_factory=list)

    def flush(self) -> None:
        """Move the Python lists into compact arrays."""
        if self.values:
            self.chunks.append(
                (
                    np.array(self.rows, dtype=np.int64),
                    np.array(self.slots, dtype=np.int32),
                    pa.array(self.values, pa.string()),
                )
            )
            self.rows, self.slots, self.values = [], [], []


@dataclass
class Streamed:
    """What a pass over the file produced."""

    metadata: Metadata
    file_type: str
    groups: dict[str, Collected]
    contexts: list[tuple[str | None, ...]]
    tombstones: list[tuple[int, tuple[str | None, ...], int]]


class _Reader:
    def __init__(self, path: Path, shown: str, wanted: set[str], metadata: Metadata | None):
        self.path, self.shown, self.wanted = path, shown, wanted
        self.versions: dict[str, Metadata] = {}
        self.external = metadata
        self.meta: Metadata | None = None
        self.groups: dict[str, Collected] = {}
        self.contexts: list[tuple[str | None, ...]] = []
        self.tombstones: list[tuple[int, tuple[str | None, ...], int]] = []
        self.form: etree._Element | None = None
        self.subject: etree._Element | None = None
        self.site: str | None = None
        self.context = -1
        self.container_removed = False
        self.position = 0
        self.file_type = "Snapshot"
        self.item_tag = ""

    def run(self) -> Streamed:
        refuse_doctype(self.path, self.shown)
        parsed = etree.iterparse(
            str(self.path),
            events=("start", "end"),
            tag=(*_TAGS, "{*}ItemGroupData", "{*}ODM"),
            resolve_entities=False,
            load_dtd=False,
            no_network=True,
            huge_tree=False,
            remove_blank_text=True,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for event, element in parsed:
                self._on(event, element)
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, self.path, self.shown) from None
        if self.meta is None:
            self.meta = self._only_version()
            self._collectors()
        for collected in self.groups.values():
            collected.flush()
        return Streamed(self.meta, self.file_type, self.groups, self.contexts, self.tombstones)

    def _on(self, event: str, element: etree._Element) -> None:
        tag = element.tag
        local = tag[tag.rfind("}") + 1 :]
        if event == "start":
            if local == "ODM":
                self.file_type = element.get("FileType", "Snapshot")
                self.item_tag = tag[: tag.rfind("}") + 1] + "ItemData"
            return
        if local == "ItemGroupData":
            self._group(element)
        elif local == "MetaDataVersion":
            meta = parse_metadata(element, self.shown)
            self.versions[meta.oid] = meta
            element.clear()
        elif local in _LEVELS:
            self._finish(element, local)

    def _group(self, element: etree._Element) -> None:
        form = element.getparent()
        if form is None or (not form.tag.endswith("}FormData") and form.tag != "FormData"):
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
        record = len(collected.contexts)
        removed = self.container_removed or element.get("TransactionType") == "Remove"
        collected.contexts.append(self.context)
        collected.repeat_keys.append(element.get("ItemGroupRepeatKey"))
        collected.lines.append(element.sourceline or 0)
        collected.positions.append(self.position)
        collected.removed.append(removed)
        index, rows, slots, values = (
            collected.index,
            collected.rows,
            collected.slots,
            collected.values,
        )
        transactional = self.file_type == "Transactional"
        for item in element:
            if item.tag != self.item_tag:
                continue
            oid = item.get("ItemOID")
            slot = index.get(oid)  # type: ignore[arg-type]
            if slot is None:
                raise self._unknown_item(collected, item)
            if item.get("IsNull") == "Yes":
                continue
            value = item.get("Value")
            if transactional and item.get("TransactionType") == "Remove":
                value = REMOVED
            if value is None:
                continue
            rows.append(record)
            slots.append(slot)
            values.append(value)
        if len(values) >= _CHUNK:
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
        self.contexts.append(
            (
                subject.get("SubjectKey"),
                self.site,
                event.get("StudyEventOID"),
                event.get("StudyEventRepeatKey"),
                form.get("FormOID"),
                form.get("FormRepeatKey"),
            )
        )
        self.context = len(self.contexts) - 1

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
