"""ODM 1.3.2 MetaDataVersion: the names, data types and codelists that make ClinicalData
readable by item name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError

NAMESPACE = "http://www.cdisc.org/ns/odm/v1.3"  # ODM 1.3, 1.3.1 and 1.3.2 share it
KEYS = (
    "StudyOID",
    "SubjectKey",
    "SiteRef",
    "StudyEventOID",
    "StudyEventRepeatKey",
    "FormOID",
    "FormRepeatKey",
    "ItemGroupOID",
    "ItemGroupRepeatKey",
)
Version = tuple[str, str]  # (StudyOID, MetaDataVersionOID): OIDs are unique only per study


@dataclass(frozen=True, slots=True)
class ItemDef:
    oid: str
    name: str
    data_type: str
    length: int | None
    codelist: str | None
    units: tuple[str, ...] = ()  # its MeasurementUnitRef OIDs
    several: bool = False  # a multi-select item: its value lists codes ('1,3')


@dataclass
class Metadata:
    """One MetaDataVersion, reduced to what reading ClinicalData needs. As parsed it holds its
    own definitions and the versions it includes; `resolve` merges those in."""

    oid: str
    study: str = ""
    line: int = 0
    includes: list[Version] = field(default_factory=list)
    items: dict[str, ItemDef] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    events: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)
    codelists: dict[str, list[str]] = field(default_factory=dict)
    external: dict[str, tuple[str, str]] = field(default_factory=dict)  # (Dictionary, Version)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # group: ItemOID -> column
    notes: dict[str, list[str]] = field(default_factory=dict)  # group: how columns were named

    @property
    def version(self) -> Version:
        return (self.study, self.oid)


def _local(element: etree._Element) -> str:
    """The ODM name of an element; '' for another namespace's (a vendor extension)."""
    tag = element.tag
    return tag[len(NAMESPACE) + 2 :] if tag.startswith(_PREFIX) else ""


def _vendor(element: etree._Element) -> str:
    """The name of a vendor's element (another namespace's), '' for ODM's own."""
    tag = element.tag
    return "" if tag.startswith(_PREFIX) else tag.rpartition("}")[2]


_PREFIX = f"{{{NAMESPACE}}}"


def parse_metadata(mdv: etree._Element, shown: str) -> Metadata:
    """Read a MetaDataVersion element (already parsed: it is small), as written: its Includes
    are merged by `resolve`."""
    study = mdv.getparent()
    meta = Metadata(
        oid=mdv.get("OID", ""),
        study=study.get("OID", "") if study is not None else "",
        line=mdv.sourceline or 0,
    )
    for child in mdv:
        if not isinstance(child.tag, str):
            continue
        kind = _local(child)
        if kind == "Include":
            meta.includes.append((child.get("StudyOID", ""), child.get("MetaDataVersionOID", "")))
        elif kind == "StudyEventDef":
            meta.events.add(child.get("OID", ""))
        elif kind == "FormDef":
            meta.forms.add(child.get("OID", ""))
        elif kind == "ItemGroupDef":
            meta.groups[child.get("OID", "")] = _item_refs(child, shown)
        elif kind == "ItemDef":
            item = _item_def(child, shown)
            meta.items[item.oid] = item
        elif kind == "CodeList":
            _codelist(meta, child)
        elif _vendor(child) == MULTI_SELECT:
            _multi_select_list(meta, child)
    return meta


# OpenClinica 3.x gives a multi-select (checkbox) item no CodeList: its ItemDef refers to an
# OpenClinica:MultiSelectList, whose MultiSelectListItems hold the codes
MULTI_SELECT = "MultiSelectList"


def _multi_select_list(meta: Metadata, element: etree._Element) -> None:
    meta.codelists[element.get("ID", "")] = [
        term.get("CodedOptionValue", "")
        for term in element
        if isinstance(term.tag, str) and _vendor(term) == "MultiSelectListItem"
    ]


def _codelist(meta: Metadata, element: etree._Element) -> None:
    """Its coded values; an ExternalCodeList (MedDRA, WHODrug, LOINC) has none to check
    against, only its dictionary and version."""
    oid = element.get("OID", "")
    terms = [t for t in element if isinstance(t.tag, str)]
    meta.codelists[oid] = [
        t.get("CodedValue", "") for t in terms if _local(t) in ("CodeListItem", "EnumeratedItem")
    ]
    external = next((t for t in terms if _local(t) == "ExternalCodeList"), None)
    if external is not None:
        meta.external[oid] = (external.get("Dictionary", ""), external.get("Version", ""))


def resolve(versions: dict[Version, Metadata], wanted: Version, shown: str) -> Metadata:
    """The version with everything it includes (recursively; its own definitions win), its
    references checked and each group's columns named."""
    meta = _merged(versions, wanted, shown, ())
    _check_references(meta, shown)
    for group, refs in meta.groups.items():
        meta.columns[group], meta.notes[group] = _columns(meta, group, refs)
    return meta


def _merged(
    versions: dict[Version, Metadata], key: Version, shown: str, chain: tuple[Version, ...]
) -> Metadata:
    own = versions[key]
    merged = Metadata(oid=own.oid, study=own.study, line=own.line)
    for include in own.includes:
        where = f"{shown}, line {own.line}"
        if include in (*chain, key):
            raise UserError(
                f"MetaDataVersion {shown_value(own.oid)} of study {shown_value(own.study)} "
                f"includes MetaDataVersion {shown_value(include[1])} of study "
                f"{shown_value(include[0])}, which includes it again: a cycle",
                where,
                "an Include must name an earlier version of the study or its parent study",
            )
        if include not in versions:
            raise UserError(
                f"MetaDataVersion {shown_value(own.oid)} includes MetaDataVersion "
                f"'{shown_value(include[1])}' of study '{shown_value(include[0])}', which the "
                "file does not hold",
                where,
                "export the parent study's metadata with the site's (or name a file that has "
                "it with 'metadata:')",
            )
        _absorb(merged, _merged(versions, include, shown, (*chain, key)))
    _absorb(merged, own)
    return merged


def _absorb(into: Metadata, other: Metadata) -> None:
    into.items.update(other.items)
    into.groups.update(other.groups)
    into.codelists.update(other.codelists)
    into.external.update(other.external)
    into.events |= other.events
    into.forms |= other.forms


def _columns(meta: Metadata, group: str, refs: list[str]) -> tuple[dict[str, str], list[str]]:
    """Each item's column is its Name; ODM asks only OIDs to be unique, so an item whose Name
    an earlier item of the group (or an ODM key) has is named by its ItemOID, with a note."""
    columns: dict[str, str] = {}
    notes = []
    taken = set(KEYS)
    for oid in refs:
        name = meta.items[oid].name
        column = name
        while column in taken:
            column = oid if column == name else column + "_"
        if column != name:
            other = next((o for o, c in columns.items() if c == name), None)
            why = f"item {shown_value(other)}'s" if other else "an ODM key column's"
            notes.append(
                f"item {shown_value(oid)} of ItemGroupDef {shown_value(group)} is column "
                f"'{shown_value(column)}': its Name '{shown_value(name)}' is {why}"
            )
        taken.add(column)
        columns[oid] = column
    return columns, notes


def _item_refs(group: etree._Element, shown: str) -> list[str]:
    """ItemRef OIDs by OrderNumber when given, else in document order."""
    refs = []
    for i, ref in enumerate(r for r in group if isinstance(r.tag, str)):
        if _local(ref) == "ItemRef":
            oid = ref.get("ItemOID", "")
            what = f"ItemRef {shown_value(oid)} of ItemGroupDef {shown_value(group.get('OID', ''))}"
            refs.append((_whole(ref, "OrderNumber", what, shown) or 0, i, oid))
    return [oid for _, _, oid in sorted(refs)]


# an XML Schema integer as exports write it (int() would also take other scripts' digits, and
# str.isdigit() superscripts that int() refuses)
_WHOLE = re.compile(r"\s*\+?[0-9]+\s*")


def _whole(element: etree._Element, attribute: str, what: str, shown: str) -> int | None:
    """The attribute as a whole number (None when absent); anything else is the file's error."""
    value = element.get(attribute)
    if value is None:
        return None
    if not _WHOLE.fullmatch(value):
        raise UserError(
            f"{what} has {attribute} '{shown_value(value)}', not a whole number",
            f"{shown}, line {element.sourceline}",
            "fix the metadata",
        )
    return int(value)


def _item_def(element: etree._Element, shown: str) -> ItemDef:
    children = [c for c in element if isinstance(c.tag, str)]
    ref = next((c for c in children if _local(c) == "CodeListRef"), None)
    several = next((c for c in children if _vendor(c) == MULTI_SELECT + "Ref"), None)
    what = f"ItemDef {shown_value(element.get('OID', ''))}"
    codelist = ref.get("CodeListOID") if ref is not None else None
    if several is not None:
        codelist = several.get("MultiSelectListID")
    return ItemDef(
        oid=element.get("OID", ""),
        name=element.get("Name", ""),
        data_type=element.get("DataType", "text"),
        length=None if several is not None else _whole(element, "Length", what, shown),
        codelist=codelist,
        several=several is not None,
        units=tuple(
            c.get("MeasurementUnitOID", "") for c in children if _local(c) == "MeasurementUnitRef"
        ),
    )


def _check_references(meta: Metadata, shown: str) -> None:
    where = f"{shown}, line {meta.line}"
    for group, refs in meta.groups.items():
        for oid in refs:
            if oid not in meta.items:
                raise UserError(
                    f"ItemGroupDef {shown_value(group)} refers to ItemOID "
                    f"'{shown_value(oid)}', which has no ItemDef",
                    where,
                    "fix the metadata or export it again",
                )
    for item in meta.items.values():
        if item.codelist is not None and item.codelist not in meta.codelists:
            raise UserError(
                f"ItemDef {shown_value(item.oid)} refers to CodeList "
                f"'{shown_value(item.codelist)}', which is not defined",
                where,
                "fix the metadata",
            )
