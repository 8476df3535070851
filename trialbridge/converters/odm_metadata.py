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
    "SubjectKey",
    "SiteRef",
    "StudyEventOID",
    "StudyEventRepeatKey",
    "FormOID",
    "FormRepeatKey",
    "ItemGroupOID",
    "ItemGroupRepeatKey",
)


@dataclass(frozen=True, slots=True)
class ItemDef:
    oid: str
    name: str
    data_type: str
    length: int | None
    codelist: str | None


@dataclass
class Metadata:
    """One MetaDataVersion, reduced to what reading ClinicalData needs."""

    oid: str
    items: dict[str, ItemDef] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    events: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)
    codelists: dict[str, list[str]] = field(default_factory=dict)


def _local(element: etree._Element) -> str:
    """The ODM name of an element; '' for another namespace's (a vendor extension)."""
    tag = element.tag
    return tag[len(NAMESPACE) + 2 :] if tag.startswith(_PREFIX) else ""


_PREFIX = f"{{{NAMESPACE}}}"


def parse_metadata(mdv: etree._Element, shown: str) -> Metadata:
    """Read a MetaDataVersion element (already parsed: it is small)."""
    meta = Metadata(oid=mdv.get("OID", ""))
    for child in mdv:
        if not isinstance(child.tag, str):
            continue
        kind = _local(child)
        if kind == "StudyEventDef":
            meta.events.add(child.get("OID", ""))
        elif kind == "FormDef":
            meta.forms.add(child.get("OID", ""))
        elif kind == "ItemGroupDef":
            meta.groups[child.get("OID", "")] = _item_refs(child, shown)
        elif kind == "ItemDef":
            item = _item_def(child, shown)
            meta.items[item.oid] = item
        elif kind == "CodeList":
            meta.codelists[child.get("OID", "")] = [
                term.get("CodedValue", "")
                for term in child
                if isinstance(term.tag, str) and _local(term) in ("CodeListItem", "EnumeratedItem")
            ]
    _check_references(meta, mdv, shown)
    return meta


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
    ref = next((c for c in element if isinstance(c.tag, str) and _local(c) == "CodeListRef"), None)
    what = f"ItemDef {shown_value(element.get('OID', ''))}"
    return ItemDef(
        oid=element.get("OID", ""),
        name=element.get("Name", ""),
        data_type=element.get("DataType", "text"),
        length=_whole(element, "Length", what, shown),
        codelist=ref.get("CodeListOID") if ref is not None else None,
    )


def _check_references(meta: Metadata, mdv: etree._Element, shown: str) -> None:
    where = f"{shown}, line {mdv.sourceline}"
    for group, refs in meta.groups.items():
        for oid in refs:
            if oid not in meta.items:
                raise UserError(
                    f"ItemGroupDef {shown_value(group)} refers to ItemOID "
                    f"'{shown_value(oid)}', which has no ItemDef",
                    where,
                    "fix the metadata or export it again",
                )
        names = [meta.items[oid].name for oid in refs]
        clash = next((n for n in names if names.count(n) > 1 or n in KEYS), None)
        if clash is not None:
            raise UserError(
                f"item name '{shown_value(clash)}' is used twice in ItemGroupDef "
                f"{shown_value(group)}"
                if clash not in KEYS
                else f"item name '{clash}' in ItemGroupDef {shown_value(group)} clashes with the "
                "ODM key",
                where,
                "give each item of a group its own Name",
            )
    for item in meta.items.values():
        if item.codelist is not None and item.codelist not in meta.codelists:
            raise UserError(
                f"ItemDef {shown_value(item.oid)} refers to CodeList "
                f"'{shown_value(item.codelist)}', which is not defined",
                where,
                "fix the metadata",
            )
