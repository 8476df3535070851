"""Read a define.xml (Define-XML 2.0 or 2.1) into what the conformance checks compare the
datasets against: each dataset's label and file, and each variable's label, data type,
length, mandatory flag, order and codelist values.

Parsed safely: a DOCTYPE (the only place entities can be declared) is refused before the
parser sees the file, and the parser reads no DTD, expands no entity and opens no network.
Each element the reader relies on is checked, and a missing one is one line naming it."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from trialbridge.errors import UserError
from trialbridge.sdtm.printable import printable
from trialbridge.xml_safety import PROLOG_BYTES, doctype_line

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
ODM = "{" + ODM_NS + "}"
XLINK = "{http://www.w3.org/1999/xlink}href"
NUMERIC_TYPES = frozenset({"integer", "float"})
_POSITION = re.compile(r", line \d+, column \d+$")  # given once, in the error's place
REMOVE = "fix the XML or remove define.xml from the folder"


@dataclass(frozen=True)
class ValueTerms:
    """A value-level codelist: the terms allowed on the records where the variable `where`
    holds one of `values` (LBSTRESC's terms for LBTESTCD = UPROT)."""

    where: str
    values: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class DefinedVariable:
    name: str
    label: str
    data_type: str  # text, integer, float, date, datetime, ...
    length: int | None
    mandatory: bool
    order: int | None
    terms: tuple[str, ...] | None  # the codelist's values; None when it has no codelist
    # codelists of its value-level items, where their where clause is one test of one variable
    by_value: tuple[ValueTerms, ...] = ()


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
    version = _metadata_version(_root(path), path)
    codelists = {c.get("OID"): _terms(c) for c in version.iter(f"{ODM}CodeList")}
    items = {i.get("OID"): i for i in version.iter(f"{ODM}ItemDef")}
    value_lists = _value_lists(version, items, codelists)
    datasets: Define = {}
    for group in version.iterfind(f"{ODM}ItemGroupDef"):
        dataset = _dataset(group, items, codelists, value_lists, path)
        if dataset.name in datasets:
            raise _error(
                path, group, f"a second ItemGroupDef for dataset {printable(dataset.name)}"
            )
        datasets[dataset.name] = dataset
    return datasets


def _root(path: Path) -> etree._Element:
    data = path.read_bytes()
    line = doctype_line(data[:PROLOG_BYTES])
    if line is not None:
        raise UserError(
            "define.xml has a DOCTYPE declaration, which"
            " trialbridge does not read (entities are refused)",
            f"{path}:{line}",
            "remove the DOCTYPE: Define-XML uses none",
            file=str(path),
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise UserError(
            f"define.xml is not well-formed XML: {printable(_POSITION.sub('', exc.msg), 200)}",
            f"{path}:{line}:{column}",
            REMOVE,
            file=str(path),
        ) from None
    if root.getroottree().docinfo.doctype:  # declared in an encoding the search missed
        raise _error(path, root, "define.xml has a DOCTYPE declaration", "remove the DOCTYPE")
    if root.tag != f"{ODM}ODM":
        namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
        space = f"namespace {printable(namespace)}" if namespace else "no namespace"
        raise _error(
            path,
            root,
            f"define.xml's root element is {printable(_local(root))} in {space}, not ODM in"
            f" {ODM_NS}",
            "give a Define-XML 2.0 or 2.1 file",
        )
    return root


def _metadata_version(root: etree._Element, path: Path) -> etree._Element:
    version = root.find(f"{ODM}Study/{ODM}MetaDataVersion")
    if version is None:
        raise UserError(
            "define.xml has no Study/MetaDataVersion",
            path,
            "give a Define-XML file",
            file=str(path),
        )
    return version


def _error(
    path: Path, element: etree._Element, what: str, fix: str = "correct define.xml"
) -> UserError:
    line = element.sourceline
    return UserError(what, f"{path}:{line}" if line else path, fix, file=str(path), row=line)


def _required(element: etree._Element, attribute: str, path: Path) -> str:
    value = element.get(attribute)
    if not value or not value.strip():
        kind = _local(element)
        oid = element.get("OID")
        named = f" {printable(oid)}" if oid else ""
        raise _error(path, element, f"{kind}{named} has no {attribute}")
    return value


def _dataset(
    group: etree._Element,
    items: dict[str | None, etree._Element],
    codelists: dict[str | None, tuple[str, ...]],
    value_lists: dict[str | None, tuple[ValueTerms, ...]],
    path: Path,
) -> DefinedDataset:
    name = _required(group, "Name", path)
    leaf = next((e for e in group if _local(e) == "leaf"), None)
    variables = []
    names: set[str] = set()
    for ref in group.iterfind(f"{ODM}ItemRef"):
        oid = _required(ref, "ItemOID", path)
        item = items.get(oid)
        if item is None:
            raise _error(
                path, ref, f"ItemRef {printable(oid)} in {printable(name)} names no ItemDef"
            )
        variable = _variable(ref, item, codelists, path)
        listed = next((e for e in item if _local(e) == "ValueListRef"), None)
        if listed is not None:
            found = value_lists.get(_attribute(listed, "ValueListOID"), ())
            variable = dataclasses.replace(variable, by_value=found)
        if variable.name in names:
            raise _error(
                path,
                ref,
                f"ItemGroupDef {printable(name)} lists variable {printable(variable.name)} twice",
            )
        variables.append(variable)
        names.add(variable.name)
    return DefinedDataset(
        name=name,
        label=_description(group),
        href=None if leaf is None else leaf.get(XLINK),
        variables=tuple(variables),
    )


def _variable(
    ref: etree._Element,
    item: etree._Element,
    codelists: dict[str | None, tuple[str, ...]],
    path: Path,
) -> DefinedVariable:
    name = _required(item, "Name", path)
    data_type = _required(item, "DataType", path)
    codelist = item.find(f"{ODM}CodeListRef")
    terms = None
    if codelist is not None:
        oid = _required(codelist, "CodeListOID", path)
        if oid not in codelists:
            raise _error(path, codelist, f"CodeListRef {printable(oid)} names no CodeList")
        terms = codelists[oid]
    return DefinedVariable(
        name=name,
        label=_description(item),
        data_type=data_type,
        length=_number(item, "Length", path),
        mandatory=ref.get("Mandatory") == "Yes",
        order=_number(ref, "OrderNumber", path),
        terms=terms,
    )


def _value_lists(
    version: etree._Element,
    items: dict[str | None, etree._Element],
    codelists: dict[str | None, tuple[str, ...]],
) -> dict[str | None, tuple[ValueTerms, ...]]:
    """Each value list's items that have a codelist and a where clause testing one variable
    for equality (EQ or IN); other value-level items give the checks nothing to hold."""
    clauses = {}
    for clause in (e for e in version if _local(e) == "WhereClauseDef"):
        checks = [c for c in clause if _local(c) == "RangeCheck"]
        if len(checks) != 1 or checks[0].get("Comparator") not in ("EQ", "IN"):
            continue
        tested = items.get(_attribute(checks[0], "ItemOID"))
        if tested is not None and tested.get("Name"):
            values = tuple(c.text or "" for c in checks[0] if _local(c) == "CheckValue")
            clauses[clause.get("OID")] = (tested.get("Name", ""), values)
    value_lists = {}
    for value_list in (e for e in version if _local(e) == "ValueListDef"):
        found = []
        for ref in (e for e in value_list if _local(e) == "ItemRef"):
            item = items.get(ref.get("ItemOID"))
            codelist = item.find(f"{ODM}CodeListRef") if item is not None else None
            where = next((e for e in ref if _local(e) == "WhereClauseRef"), None)
            if codelist is None or where is None:
                continue
            clause = clauses.get(_attribute(where, "WhereClauseOID"))
            terms = codelists.get(codelist.get("CodeListOID"))
            if clause is not None and terms is not None:
                found.append(ValueTerms(clause[0], clause[1], terms))
        value_lists[value_list.get("OID")] = tuple(found)
    return value_lists


def _attribute(element: etree._Element, name: str) -> str | None:
    """An attribute in the def: namespace (Define-XML 2.0 or 2.1), by its local name."""
    return next((v for k, v in element.attrib.items() if k.rpartition("}")[2] == name), None)


def _number(element: etree._Element, attribute: str, path: Path) -> int | None:
    value = element.get(attribute)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        kind = _local(element)
        what = f"{kind} {printable(element.get('OID') or element.get('ItemOID') or '')}"
        raise _error(
            path,
            element,
            f"{what} has {attribute} '{printable(value)}', not a whole number of at most 9 digits",
        )
    return int(value)


def _description(element: etree._Element) -> str:
    text = element.find(f"{ODM}Description/{ODM}TranslatedText")
    return "" if text is None or text.text is None else text.text


def _terms(codelist: etree._Element) -> tuple[str, ...]:
    return tuple(
        e.get("CodedValue", "") for e in codelist if _local(e) in ("CodeListItem", "EnumeratedItem")
    )


def _local(element: etree._Element) -> str:
    """An element's name without its namespace; '' for a comment or processing instruction
    (etree.QName raises ValueError on those)."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""
