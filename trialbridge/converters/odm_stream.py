"""Stream an ODM 1.3.2 file's ClinicalData into column buffers, one per wanted ItemGroup.

lxml's iterparse builds one ItemGroupData at a time; each is read and then removed from the
tree with its finished ancestors, so memory holds the values read, never the document."""

from __future__ import annotations

import codecs
import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from trialbridge.converters.odm_metadata import (
    KEYS,
    NAMESPACE,
    Metadata,
    Version,
    parse_metadata,
    resolve,
)
from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError
from trialbridge.xml_safety import SAFE, refuse_doctype

REMOVED = "\x00removed"  # an ItemData with TransactionType Remove, until transactions apply
_CHUNK = 1 << 18
_SCAN = 4 << 20
_NS = f"{{{NAMESPACE}}}"
_LEVELS = {"SubjectData": 1, "StudyEventData": 3, "FormData": 5}
_TAGS = tuple(
    _NS + name for name in ("MetaDataVersion", "BasicDefinitions", "ItemGroupData", *_LEVELS)
)
_GROUP, _ITEM, _FORM, _EVENT, _SUBJECT, _CLINICAL, _REFERENCE, _UNIT_REF = (
    _NS + name
    for name in (
        *("ItemGroupData", "ItemData", "FormData", "StudyEventData", "SubjectData"),
        *("ClinicalData", "ReferenceData", "MeasurementUnitRef"),
    )
)
WIDTH = KEYS.index("FormRepeatKey") + 1  # the keys of a form instance, StudyOID first
# the type of the table's text: pandas holds its text as large_string, so a column built so
# goes into the table as it is, where a string one would be copied
STRING = pa.large_string()
UNIT = ".MeasurementUnitOID"  # the column of an item's per-value unit: its Name + this
_FIX_ODM = "export the data as CDISC ODM 1.3.2 (ODM 1.2 and 2.0 files are not read)"


@dataclass(frozen=True)
class Records:
    """One ItemGroup's records as arrays: per record its form instance (an index into the
    contexts; emptied once the key columns are built from it), repeat key, line and removal;
    per item slot its column, the value each record sent (null where it sent none).
    `repeated`: the records that share their form instance and repeat key with another record
    of the same FormData (normally none)."""

    contexts: np.ndarray
    repeat_keys: pa.ChunkedArray
    lines: np.ndarray
    removals: np.ndarray  # the records a TransactionType Remove (theirs or a container's) ends
    items: list[pa.ChunkedArray]
    repeated: np.ndarray

    @property
    def removed(self) -> np.ndarray:
        """Per record: whether it is a removal."""
        removed = np.zeros(len(self), bool)
        removed[self.removals] = True
        return removed

    def __len__(self) -> int:
        return len(self.lines)


@dataclass
class Collected:
    """One ItemGroup being read: C arrays for the records' numbers, and the latest values in
    a list, laid out as the table's columns every _CHUNK values; so what is held is the
    table being built, not a Python object (or an index) per value."""

    oid: str
    items: list[str] = field(default_factory=list)  # per slot: its ItemOID
    columns: list[str] = field(default_factory=list)  # per slot: its column
    index: dict[str, int] = field(default_factory=dict)  # the section's ItemOIDs -> slots
    units: dict[int, int] = field(default_factory=dict)  # an item's slot -> its unit's slot
    notes: list[str] = field(default_factory=list)
    count: int = 0
    contexts: array = field(default_factory=lambda: array("i"))
    lines: array = field(default_factory=lambda: array("q"))
    form: int = -1  # the form instance of the repeat keys seen
    seen: dict[str | None, int] = field(default_factory=dict)  # its repeat keys -> record
    repeated: set[int] = field(default_factory=set)
    removals: array = field(default_factory=lambda: array("q"))  # few: by record
    flushed: int = 0  # the records laid out as columns
    repeat_keys: list[str | None] = field(default_factory=list)  # since the last flush
    rows: array = field(default_factory=lambda: array("i"))  # per value since: its record
    slots: array = field(default_factory=lambda: array("h"))
    values: list[str] = field(default_factory=list)
    repeat_parts: list[pa.Array] = field(default_factory=list)
    parts: dict[int, list[pa.Array]] = field(default_factory=dict)  # slot -> its column's parts

    def flush(self) -> None:
        """The records since the last flush as parts of the columns: values trimmed, then
        each slot's value per record (a value sent twice in a record: the last)."""
        records = self.count - self.flushed
        if not records:
            return
        self.repeat_parts.append(pa.array(self.repeat_keys, STRING))
        values = trimmed(pa.array(self.values, STRING))
        rows = np.frombuffer(self.rows, dtype=np.int32) - self.flushed
        slots = np.frombuffer(self.slots, dtype=np.int16)
        order = np.argsort(slots, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(slots, minlength=len(self.items)))])
        for slot in range(len(self.items)):
            picked = order[bounds[slot] : bounds[slot + 1]]
            at = np.full(records, -1, dtype=np.int64)
            at[rows[picked]] = picked
            self.parts.setdefault(slot, []).append(values.take(pa.array(at, mask=at < 0)))
        self.flushed = self.count
        self.rows, self.slots, self.repeat_keys, self.values = array("i"), array("h"), [], []

    def enter(self, meta: Metadata) -> None:
        """A ClinicalData of version `meta` starts: its items of the group get slots (new ones
        after those of earlier versions) and only they are read until the next."""
        self.index = {}
        for oid in meta.groups.get(self.oid, ()):
            slot = self.items.index(oid) if oid in self.items else self._slot(oid, meta)
            self.index[oid] = slot
            if meta.items[oid].units and slot not in self.units:
                self.units[slot] = len(self.items)
                self.items.append(oid)
                self.columns.append(self.columns[slot] + UNIT)

    def _slot(self, oid: str, meta: Metadata) -> int:
        column = meta.columns[self.oid][oid]
        if column in self.columns:  # named so by an item of another version
            column = oid
            while column in self.columns:
                column += "_"
            self.notes.append(
                f"item {shown_value(oid)} of ItemGroupDef {shown_value(self.oid)} is column "
                f"'{shown_value(column)}': its Name is an item's of another MetaDataVersion"
            )
        self.notes += [n for n in meta.notes[self.oid] if n not in self.notes]
        self.items.append(oid)
        self.columns.append(column)
        return len(self.items) - 1

    def records(self) -> Records:
        """All records read, after the pass; the parts are handed over, not kept. A slot an
        item of a later version brought is null in the records before it."""
        self.flush()
        items = []
        for slot in range(len(self.items)):
            # the parts as the chunks of the column: a table takes them as they are, where
            # joining them would copy every value once more
            parts = self.parts.pop(slot, [])
            missing = self.count - sum(len(part) for part in parts)
            chunks = [pa.nulls(missing, STRING)] if missing else []
            items.append(pa.chunked_array([*chunks, *parts], STRING))
        records = Records(
            contexts=np.frombuffer(self.contexts, dtype=np.int32),
            repeat_keys=pa.chunked_array(self.repeat_parts, STRING),
            lines=np.frombuffer(self.lines, dtype=np.int64),
            removals=np.frombuffer(self.removals, dtype=np.int64),
            items=items,
            repeated=np.array(sorted(self.repeated), dtype=np.int64),
        )
        self.repeat_parts, self.contexts, self.lines = [], array("i"), array("q")
        return records


def trimmed(values: pa.Array) -> pa.Array:
    """Values with surrounding whitespace removed, as CSV cells are, and an empty value null
    (ODM 1.3.2 section 2.13: an empty ItemData has no value)."""
    values = pc.utf8_trim_whitespace(values)
    empty = pc.equal(pc.binary_length(values), 0)
    return pc.if_else(empty, pa.scalar(None, STRING), values)


@dataclass
class Subject:
    """One SubjectData: its keys, its vendor attributes (by column), where it is."""

    keys: tuple[str | None, ...]  # StudyOID, SubjectKey, SiteRef
    extras: dict[str, str]
    line: int
    removed: bool


@dataclass(frozen=True)
class Tombstone:
    """A removed SubjectData, StudyEventData or FormData: its level (1, 3, 5), the key prefix
    it covers, and per wanted ItemGroup the records read before it ends (those it removes)."""

    level: int
    keys: tuple[str | None, ...]
    counts: dict[str, int]


@dataclass
class Streamed:
    """What a pass over the file produced."""

    metadata: Metadata  # every version the data named, merged: the first definition of an OID
    file_type: str
    groups: dict[str, Collected]
    contexts: np.ndarray  # one row per FormData: codes into `names` of its WIDTH keys
    names: list[str | None]
    tombstones: list[Tombstone]
    reference: dict[str, int]  # ItemGroupData under ReferenceData, by ItemGroupOID
    extras: dict[str, dict[int, str]]  # vendor attribute column -> form instance -> value
    units: dict[str, str]  # MeasurementUnit OID -> its symbol
    subjects: list[Subject]


class _Reader:
    def __init__(
        self,
        path: Path,
        shown: str,
        wanted: set[str],
        metadata: dict[Version, Metadata] | None,
        subjects: bool,
    ) -> None:
        self.path, self.shown, self.wanted = path, shown, wanted
        self.versions: dict[Version, Metadata] = dict(metadata or {})
        self.resolved: dict[Version, Metadata] = {}
        self.view = Metadata(oid="")
        self.meta: Metadata | None = None
        self.groups = {oid: Collected(oid) for oid in sorted(wanted)}
        self.contexts = array("i")
        self.tombstones: list[Tombstone] = []
        self.form: etree._Element | None = None
        self.subject: etree._Element | None = None
        self.event: etree._Element | None = None
        self.inherited: list[tuple[str, str]] = []  # the subject's vendor attributes
        self.held: list[tuple[str, str]] = []  # the event's
        self.clinical: etree._Element | None = None
        self.study: str | None = None
        self.site: str | None = None
        self.context = -1
        self.container_removed = False
        self.file_type = "Snapshot"
        self.reference: dict[str, int] = {}
        self.names: dict[str | None, str | None] = {}  # one str object per distinct key
        self.codes: dict[str | None, int] = {}
        self.extras: dict[str, dict[int, str]] = {}
        self.units: dict[str, str] = {}
        self.subjects: list[Subject] | None = [] if subjects else None
        self.prefixes: dict[str, str] = {}

    def run(self) -> Streamed:
        refuse_doctype(self.path, self.shown)
        self.file_type = check_root(self.path, self.shown)
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
        if self.meta is None:  # no ClinicalData: the groups as the file's versions define them
            for version in sorted(self.versions):
                self._use(version)
        self._check_wanted()
        contexts = np.frombuffer(self.contexts, dtype=np.int32).reshape(-1, WIDTH)
        return Streamed(
            self.view,
            self.file_type,
            self.groups,
            contexts,
            list(self.codes),
            self.tombstones,
            self.reference,
            self.extras,
            self.units,
            self.subjects or [],
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
                self.versions[meta.version] = meta
                element.clear()
            elif local == "BasicDefinitions":
                self._basic_definitions(element)
            elif local in _LEVELS:
                self._finish(element, local)

    def _basic_definitions(self, element: etree._Element) -> None:
        """MeasurementUnit OIDs and their symbols (the first TranslatedText)."""
        for unit in element.iter(_NS + "MeasurementUnit"):
            symbol = next(unit.iter(_NS + "TranslatedText"), None)
            text = (symbol.text or "").strip() if symbol is not None else ""
            self.units.setdefault(unit.get("OID", ""), text or unit.get("Name", ""))
        element.clear()

    def _group(self, element: etree._Element) -> None:
        form = element.getparent()
        if form is None or form.tag != _FORM:
            self._outside_form(element, form)
            return
        if form is not self.form:
            self._enter(form)
        assert self.meta is not None
        oid = element.get("ItemGroupOID", "")
        if oid not in self.meta.groups:
            raise UserError(
                f"ItemGroupOID '{shown_value(oid)}' is not in the metadata "
                f"(MetaDataVersion {shown_value(self.meta.oid)})",
                f"{self.shown}, line {element.sourceline}",
                "export the metadata with the data, or fix the OID",
            )
        collected = self.groups.get(oid)
        if collected is not None:
            self._collect(collected, element)
        element.clear()
        while element.getprevious() is not None:
            del form[0]

    def _outside_form(self, element: etree._Element, parent: etree._Element | None) -> None:
        """ReferenceData holds ItemGroupData that are no subject's records: counted, not
        read. Anywhere else an ItemGroupData is misplaced; under a StudyEventData or another
        ItemGroupData it is ODM 2.0's nesting."""
        if parent is None or parent.tag != _REFERENCE:
            where = _name(parent) if parent is not None else "the document"
            odm2 = parent is not None and parent.tag in (_EVENT, _GROUP)
            raise UserError(
                f"ItemGroupData inside {where}, not inside a FormData"
                + (": ODM 2.0 nests data so, ODM 1.3 does not" if odm2 else ""),
                f"{self.shown}, line {element.sourceline}",
                "in ODM 1.3.2 a subject's ItemGroupData sits in SubjectData / StudyEventData "
                "/ FormData: export the file again from the EDC"
                + (" as ODM 1.3.2" if odm2 else ""),
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
        if removed:
            collected.removals.append(record)
        _note_repeat(collected, record, repeat, self.context)
        index, item_tag, units = collected.index, _ITEM, collected.units
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
                value = _value(item, value, item_tag, transactional, self.shown)
                if value is None:
                    continue
            add_row(record)
            add_slot(slot)
            add_value(value)
            if slot in units and (unit := _unit(item)) is not None:
                add_row(record)
                add_slot(units[slot])
                add_value(unit)
        if len(collected.values) >= _CHUNK or collected.count - collected.flushed >= _CHUNK:
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
        """A new FormData: its keys and those of its event and subject, looked up once. A
        FormData directly in its SubjectData (REDCap's export of a project without events)
        has no event."""
        parent = form.getparent()
        event = parent if parent is not None and parent.tag == _EVENT else None
        subject = event.getparent() if event is not None else parent
        clinical = subject.getparent() if subject is not None else None
        if clinical is None or clinical.tag != _CLINICAL or subject.tag != _SUBJECT:
            raise UserError(
                f"FormData inside {_name(parent) if parent is not None else 'the document'}, "
                "not inside a StudyEventData of a SubjectData",
                f"{self.shown}, line {form.sourceline}",
                "the export is not ODM 1.3.2 ClinicalData: export it again from the EDC",
            )
        if clinical is not self.clinical:
            self._section(clinical)
        assert self.meta is not None
        if subject is not self.subject:
            self.subject = subject
            self.site = _site(subject)
            self.inherited = list(self._vendor(subject, "SubjectData"))
            self.event, self.held = None, []
        if event is not self.event:
            self.event = event
            self.held = list(self._vendor(event, "StudyEventData")) if event is not None else []
        if event is not None:
            self._check_defined(event, "StudyEventOID", self.meta.events)
        self._check_defined(form, "FormOID", self.meta.forms)
        self.form = form
        levels = (form, event, subject)
        self.container_removed = any(
            e is not None and e.get("TransactionType") == "Remove" for e in levels
        )
        keys = (
            self.study,
            subject.get("SubjectKey"),
            self.site,
            event.get("StudyEventOID") if event is not None else None,
            event.get("StudyEventRepeatKey") if event is not None else None,
            form.get("FormOID"),
            form.get("FormRepeatKey"),
        )
        self.contexts.extend(self.codes.setdefault(k, len(self.codes)) for k in keys)
        self.context = len(self.contexts) // WIDTH - 1
        for column, value in (*self.inherited, *self.held, *self._vendor(form, "FormData")):
            self.extras.setdefault(column, {})[self.context] = value

    def _vendor(self, element: etree._Element, level: str) -> Iterator[tuple[str, str]]:
        """Attributes in another namespace (a vendor's: OpenClinica's StudySubjectID, Status,
        ...) as (column, value); the column is `Level.prefix:Name`, the prefix as the file
        declares the namespace."""
        for name, value in element.attrib.items():
            if name[0] != "{":
                continue
            namespace, _, local = name[1:].partition("}")
            prefix = self.prefixes.get(namespace)
            if prefix is None:
                found = [p for p, uri in element.nsmap.items() if uri == namespace and p]
                prefix = self.prefixes[namespace] = min(found) if found else namespace
            yield f"{level}.{prefix}:{local}", value

    def _section(self, clinical: etree._Element) -> None:
        """A ClinicalData starts: its StudyOID and MetaDataVersionOID name its metadata."""
        self.clinical = clinical
        self.study = clinical.get("StudyOID")
        self.meta = self._use(self._version(clinical))

    def _use(self, version: Version) -> Metadata:
        """The version resolved (once), merged into the view, its groups' items given slots."""
        meta = self.resolved.get(version)
        if meta is None:
            meta = self.resolved[version] = resolve(self.versions, version, self.shown)
            for oid, item in meta.items.items():
                self.view.items.setdefault(oid, item)
            for oid, codes in meta.codelists.items():
                self.view.codelists.setdefault(oid, codes)
            for oid, source in meta.external.items():
                self.view.external.setdefault(oid, source)
            for oid, refs in meta.groups.items():
                self.view.groups.setdefault(oid, refs)
        for collected in self.groups.values():
            collected.enter(meta)
        return meta

    def _version(self, clinical: etree._Element) -> Version:
        """The ClinicalData's (StudyOID, MetaDataVersionOID); a MetaDataVersionOID that one
        study of the file (or of the metadata file) defines is enough."""
        wanted = (clinical.get("StudyOID", ""), clinical.get("MetaDataVersionOID", ""))
        if wanted in self.versions:
            return wanted
        same = [v for v in self.versions if v[1] == wanted[1]]
        if len(same) == 1:
            return same[0]
        if not self.versions:
            raise UserError(
                "no MetaDataVersion before the ClinicalData",
                self.shown,
                "export the study metadata with the data, or name a metadata file with "
                "'metadata:' for this source in study.yaml",
            )
        held = listed(f"{s}/{m}" for s, m in self.versions)
        raise UserError(
            f"ClinicalData of study '{shown_value(wanted[0])}' refers to MetaDataVersion "
            f"'{shown_value(wanted[1])}', which the file does not hold",
            f"{self.shown}, line {clinical.sourceline}",
            f"the file has (study/version) {held}",
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
        """A subject, event or form ends: note a Remove (and the subject, when the subjects are
        read), then drop it from the tree."""
        removed = element.get("TransactionType") == "Remove"
        if removed:
            counts = {oid: collected.count for oid, collected in self.groups.items()}
            self.tombstones.append(Tombstone(_LEVELS[local], _keys(element), counts))
        if local == "SubjectData" and self.subjects is not None:
            self._subject(element, removed)
        parent = element.getparent()
        element.clear()
        if parent is not None:
            while (previous := element.getprevious()) is not None and previous.tag == element.tag:
                parent.remove(previous)

    def _subject(self, element: etree._Element, removed: bool) -> None:
        assert self.subjects is not None
        clinical = element.getparent()
        study = clinical.get("StudyOID") if clinical is not None else None
        keys = (study, element.get("SubjectKey"), _site(element))
        extras = dict(self._vendor(element, "SubjectData"))
        line = element.sourceline or 0
        self.subjects.append(Subject(keys, extras, line, removed))

    def _check_wanted(self) -> None:
        """Every group a source reads is defined by a version the file uses."""
        for oid, collected in self.groups.items():
            if not collected.items and oid not in self.view.groups:
                held = self.view.groups or {g for m in self.versions.values() for g in m.groups}
                version = self.meta.oid if self.meta is not None else None
                named = f" (MetaDataVersion {shown_value(version)})" if version else ""
                raise UserError(
                    f"item group '{shown_value(oid)}' is not in the ODM metadata{named}",
                    self.shown,
                    f"use one of: {listed(held)}" if held else "the file defines no ItemGroupDef",
                )


def _note_repeat(collected: Collected, record: int, repeat: str | None, form: int) -> None:
    """Note a repeat key met twice in one FormData: besides a form instance written twice,
    the only way two records of a group come to share their keys."""
    if collected.form != form:
        collected.form, collected.seen = form, {}
    earlier = collected.seen.setdefault(repeat, record)
    if earlier != record:
        collected.repeated.update((earlier, record))


def _site(subject: etree._Element) -> str | None:
    return next((c.get("LocationOID") for c in subject if c.tag == _NS + "SiteRef"), None)


def _unit(item: etree._Element) -> str | None:
    """An ItemData's unit: the MeasurementUnitOID of a typed ItemData, or of the
    MeasurementUnitRef inside a plain one."""
    unit = item.get("MeasurementUnitOID")
    if unit is None:
        ref = next((c for c in item if c.tag == _UNIT_REF), None)
        unit = ref.get("MeasurementUnitOID") if ref is not None else None
    return unit


def _value(
    item: etree._Element, value: str | None, item_tag: str, transactional: bool, shown: str
) -> str | None:
    """The slow path: a removed item, an IsNull item, a typed ItemDataString (ODM 1.3's
    value-as-text form), or a value ODM 1.3 cannot hold."""
    if transactional and item.get("TransactionType") == "Remove":
        return REMOVED
    if item.tag != item_tag and item.get("IsNull") != "Yes":
        return item.text or ""
    if value is None and any(c.tag == _NS + "Value" for c in item):
        raise UserError(
            "ItemData holds its value in a Value element, as ODM 2.0 writes it; ODM 1.3 has a "
            "Value attribute",
            f"{shown}, line {item.sourceline}",
            "export the data as CDISC ODM 1.3.2",
        )
    return value


def _keys(element: etree._Element) -> tuple[str | None, ...]:
    """The key prefix a removed container covers: study, subject [, event, repeat [, form,
    repeat]] (a form directly in its subject has no event)."""
    form = element if element.tag == _FORM else None
    event = element if element.tag == _EVENT else None
    node = element
    while node is not None and node.tag != _SUBJECT:
        node = node.getparent()
        if node is not None and node.tag == _EVENT:
            event = node
    subject = node if node is not None else element
    clinical = subject.getparent()
    keys: list[str | None] = [clinical.get("StudyOID") if clinical is not None else None]
    keys.append(subject.get("SubjectKey"))
    if element.tag != _SUBJECT:
        keys += [
            event.get(k) if event is not None else None
            for k in ("StudyEventOID", "StudyEventRepeatKey")
        ]
    if form is not None:
        keys += [form.get("FormOID"), form.get("FormRepeatKey")]
    return tuple(keys)


def stream(
    path: Path,
    shown: str,
    wanted: set[str],
    metadata: dict[Version, Metadata] | None = None,
    subjects: bool = False,
) -> Streamed:
    """Read the file once, collecting the wanted ItemGroups (and the subjects, if asked)."""
    return _Reader(path, shown, wanted, metadata, subjects).run()


def read_metadata(path: Path, shown: str) -> dict[Version, Metadata]:
    """The MetaDataVersions of a metadata file, as written (resolved where data uses them)."""
    reader = _Reader(path, shown, set(), None, False)
    reader.run()
    return reader.versions


def _name(element: etree._Element) -> str:
    """An element's name without its namespace."""
    return str(element.tag).rpartition("}")[2]


def listed(names: Iterable[str], most: int = 20) -> str:
    """Names from the file for a fix to choose from: sorted, escaped, at most `most`."""
    ordered = sorted(names)
    shown = ", ".join(shown_value(name) for name in ordered[:most])
    return shown + (f", ... ({len(ordered):,} in all)" if len(ordered) > most else "")


def check_root(path: Path, shown: str) -> str:
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
