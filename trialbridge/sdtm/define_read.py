"""Read a define.xml (Define-XML 2.0 or 2.1) into what the conformance checks compare the
datasets against: each dataset's label and file, and each variable's label, data type,
length, mandatory flag, order and codelist values. Parsed safely: no DTD, no entities, no
network."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from trialbridge.errors import UserError

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
XLINK = "{http://www.w3.org/1999/xlink}href"
NUMERIC_TYPES = frozenset({"integer", "float"})
_POSITION = re.compile(r", line \d+, column \d+$")  # given once, in the error's place


@dataclass(frozen=True)
class DefinedVariable:
    name: str
    label: str
    data_type: str  # text, integer, float, date, datetime, ...
    length: int | None
    mandatory: bool
    order: int | None
    terms: tuple[str, ...] | None  # the codelist's values; None when it has no codelist


@dataclass(frozen=True)
class DefinedDataset:
    name: str
    label: str
    href: str | None
    variables: tuple[DefinedVariable, ...]

    def variable(self, name: str) -> DefinedVariable | None:
        return next((v for v in self.variables if v.name == name), None)


Define = dict[str, DefinedDataset]


def read_define(path: Path) -> Define:
    """The datasets a define.xml describes, by dataset name."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise UserError(
            f"define.xml is not well-formed XML: {_POSITION.sub('', exc.msg)}",
            f"{path}:{line}:{column}",
            "fix the XML or remove define.xml from the folder",
        ) from None
    version = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    if version is None:
        raise UserError("define.xml has no Study/MetaDataVersion", path, "give a Define-XML file")
    codelists = {c.get("OID"): _terms(c) for c in version.iter(f"{ODM}CodeList")}
    items = {i.get("OID"): i for i in version.iter(f"{ODM}ItemDef")}
    groups = version.findall(f"{ODM}ItemGroupDef")
    return {g.get("Name", ""): _dataset(g, items, codelists) for g in groups if g.get("Name")}


def _dataset(
    group: etree._Element,
    items: dict[str | None, etree._Element],
    codelists: dict[str | None, tuple[str, ...]],
) -> DefinedDataset:
    leaf = next((e for e in group if etree.QName(e).localname == "leaf"), None)
    variables = []
    for ref in group.findall(f"{ODM}ItemRef"):
        item = items.get(ref.get("ItemOID"))
        if item is None:
            continue
        codelist = item.find(f"{ODM}CodeListRef")
        order = ref.get("OrderNumber")
        length = item.get("Length")
        variables.append(
            DefinedVariable(
                name=item.get("Name", ""),
                label=_description(item),
                data_type=item.get("DataType", ""),
                length=int(length) if length and length.isdigit() else None,
                mandatory=ref.get("Mandatory") == "Yes",
                order=int(order) if order and order.isdigit() else None,
                terms=None if codelist is None else codelists.get(codelist.get("CodeListOID")),
            )
        )
    return DefinedDataset(
        name=group.get("Name", ""),
        label=_description(group),
        href=None if leaf is None else leaf.get(XLINK),
        variables=tuple(variables),
    )


def _description(element: etree._Element) -> str:
    text = element.find(f"{ODM}Description/{ODM}TranslatedText")
    return "" if text is None or text.text is None else text.text


def _terms(codelist: etree._Element) -> tuple[str, ...]:
    return tuple(
        e.get("CodedValue", "")
        for e in codelist
        if etree.QName(e).localname in ("CodeListItem", "EnumeratedItem")
    )
