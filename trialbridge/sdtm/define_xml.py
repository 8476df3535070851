"""Render the Define-XML 2.1 model as define.xml, and validate it against the XSD."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from lxml import etree

from trialbridge.sdtm.define_model import (
    STD_CT,
    STD_IG,
    CodeList,
    DefineModel,
    Item,
    ItemGroup,
    ItemRef,
)

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: ODM, "def": DEF, "xlink": XLINK}


def _el(parent: etree._Element | None, tag: str, attrs: dict | None = None, ns: str = ODM):
    """A child element (or a root when parent is None) with the non-None attributes."""
    name = f"{{{ns}}}{tag}"
    clean = {k: str(v) for k, v in (attrs or {}).items() if v is not None}
    if parent is None:
        return etree.Element(name, clean, nsmap=NSMAP)
    return etree.SubElement(parent, name, clean)


def _d(attr: str) -> str:
    return f"{{{DEF}}}{attr}"


def _text(parent: etree._Element, text: str) -> None:
    description = _el(parent, "Description")
    translated = _el(description, "TranslatedText", {f"{{{XML}}}lang": "en"})
    translated.text = text


def render(model: DefineModel) -> bytes:
    created = model.created.strftime("%Y-%m-%dT%H:%M:%S")
    root = _el(
        None,
        "ODM",
        {
            "FileType": "Snapshot",
            "FileOID": f"DEFINE.{model.study_id}",
            "CreationDateTime": created,
            "ODMVersion": "1.3.2",
            "Originator": model.sponsor,
            "SourceSystem": "trialbridge",
            "SourceSystemVersion": model.source_system.split()[-1],
            _d("Context"): "Submission",
        },
    )
    study = _el(root, "Study", {"OID": f"STUDY.{model.study_id}"})
    globals_ = _el(study, "GlobalVariables")
    for tag, text in (
        ("StudyName", model.study_id),
        ("StudyDescription", model.title),
        ("ProtocolName", model.study_id),
    ):
        _el(globals_, tag).text = text
    mdv = _el(
        study,
        "MetaDataVersion",
        {
            "OID": f"MDV.{model.study_id}",
            "Name": f"{model.study_id} SDTM",
            "Description": f"SDTMIG {model.sdtmig_version} datasets of {model.study_id}",
            _d("DefineVersion"): "2.1.0",
        },
    )
    _standards(mdv, model)
    for oid, refs in model.value_lists.items():
        value_list = _el(mdv, "ValueListDef", {"OID": oid}, DEF)
        for ref in refs:
            _item_ref(value_list, ref)
    for clause in model.where_clauses.values():
        where = _el(mdv, "WhereClauseDef", {"OID": clause.oid}, DEF)
        check = _el(
            where,
            "RangeCheck",
            {"SoftHard": "Soft", _d("ItemOID"): clause.item_oid, "Comparator": "EQ"},
        )
        for value in clause.values:
            _el(check, "CheckValue").text = value
    for group in model.groups:
        _item_group(mdv, group)
    for item in model.items.values():
        _item(mdv, item)
    for codelist in model.codelists.values():
        _codelist(mdv, codelist)
    for method in model.methods.values():
        node = _el(
            mdv, "MethodDef", {"OID": method.oid, "Name": method.name, "Type": "Computation"}
        )
        _text(node, method.description)
    for oid, text in model.comments.items():
        _text(_el(mdv, "CommentDef", {"OID": oid}, DEF), text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _standards(mdv: etree._Element, model: DefineModel) -> None:
    standards = _el(mdv, "Standards", ns=DEF)
    _el(
        standards,
        "Standard",
        {
            "OID": STD_IG,
            "Name": "SDTMIG",
            "Type": "IG",
            "Version": model.sdtmig_version,
            "Status": "Final",
        },
        DEF,
    )
    _el(
        standards,
        "Standard",
        {
            "OID": STD_CT,
            "Name": "CDISC/NCI",
            "Type": "CT",
            "PublishingSet": "SDTM",
            "Version": model.ct_version,
            "Status": "Final",
        },
        DEF,
    )


def _item_ref(parent: etree._Element, ref: ItemRef) -> None:
    node = _el(
        parent,
        "ItemRef",
        {
            "ItemOID": ref.item_oid,
            "OrderNumber": ref.order,
            "Mandatory": "Yes" if ref.mandatory else "No",
            "KeySequence": ref.key_sequence,
            "MethodOID": ref.method_oid,
            "Role": ref.role,
        },
    )
    if ref.where_clause_oid:
        _el(node, "WhereClauseRef", {"WhereClauseOID": ref.where_clause_oid}, DEF)


def _item_group(mdv: etree._Element, group: ItemGroup) -> None:
    node = _el(
        mdv,
        "ItemGroupDef",
        {
            "OID": group.oid,
            "Domain": group.domain,
            "Name": group.name,
            "Repeating": "Yes" if group.repeating else "No",
            "IsReferenceData": "Yes" if group.reference_data else "No",
            "SASDatasetName": group.name,
            "Purpose": "Tabulation",
            _d("Structure"): group.structure,
            _d("StandardOID"): None if group.non_standard else STD_IG,
            _d("IsNonStandard"): "Yes" if group.non_standard else None,
            _d("ArchiveLocationID"): f"LF.{group.name}",
            _d("CommentOID"): group.comment_oid,
        },
    )
    _text(node, group.label)
    for ref in group.refs:
        _item_ref(node, ref)
    _el(node, "Class", {"Name": group.dataset_class}, DEF)
    leaf = _el(node, "leaf", {"ID": f"LF.{group.name}", f"{{{XLINK}}}href": group.href}, DEF)
    _el(leaf, "title", ns=DEF).text = group.href


def _item(mdv: etree._Element, item: Item) -> None:
    node = _el(
        mdv,
        "ItemDef",
        {
            "OID": item.oid,
            "Name": item.name,
            "DataType": item.data_type,
            "Length": item.length if item.data_type in ("text", "integer", "float") else None,
            "SignificantDigits": item.significant_digits,
            "SASFieldName": item.name,
        },
    )
    _text(node, item.label)
    if item.codelist_oid:
        _el(node, "CodeListRef", {"CodeListOID": item.codelist_oid})
    origin = _el(node, "Origin", {"Type": item.origin, "Source": item.origin_source}, DEF)
    if item.origin_description:
        _text(origin, item.origin_description)
    if item.value_list_oid:
        _el(node, "ValueListRef", {"ValueListOID": item.value_list_oid}, DEF)


def _codelist(mdv: etree._Element, codelist: CodeList) -> None:
    node = _el(
        mdv,
        "CodeList",
        {"OID": codelist.oid, "Name": codelist.name, "DataType": "text", _d("StandardOID"): STD_CT},
    )
    for order, item in enumerate(codelist.items, 1):
        entry = _el(
            node,
            "EnumeratedItem",
            {
                "CodedValue": item.value,
                "OrderNumber": order,
                _d("ExtendedValue"): "Yes" if item.extended else None,
            },
        )
        if item.nci_code:
            _el(entry, "Alias", {"Context": "nci:ExtCodeID", "Name": item.nci_code})
    if codelist.nci_code:
        _el(node, "Alias", {"Context": "nci:ExtCodeID", "Name": codelist.nci_code})


def schema() -> etree.XMLSchema:
    """The Define-XML 2.1 XSD shipped with odmlib, loaded offline."""
    folder = resources.files("odmlib").joinpath("schemas/define/2.1")
    path = Path(str(folder)) / "define2-1-0.xsd"
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate(document: bytes) -> list[str]:
    """XSD errors as 'line N: message', then references to OIDs that are not defined."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    tree = etree.fromstring(document, parser)
    xsd = schema()
    if not xsd.validate(tree):
        return [f"line {e.line}: {e.message}" for e in xsd.error_log]
    return _dangling(tree)


# referring attribute -> the element whose OID it names
_REFERENCES = {
    "ItemOID": "ItemDef",
    f"{{{DEF}}}ItemOID": "ItemDef",
    "MethodOID": "MethodDef",
    "CodeListOID": "CodeList",
    "ValueListOID": f"{{{DEF}}}ValueListDef",
    "WhereClauseOID": f"{{{DEF}}}WhereClauseDef",
    f"{{{DEF}}}CommentOID": f"{{{DEF}}}CommentDef",
    f"{{{DEF}}}StandardOID": f"{{{DEF}}}Standard",
    f"{{{DEF}}}ArchiveLocationID": f"{{{DEF}}}leaf",
}


def _dangling(tree: etree._Element) -> list[str]:
    defined: dict[str, set[str]] = {}
    for node in tree.iter():
        key = node.get("OID") or node.get("ID")
        if key is not None and isinstance(node.tag, str):
            local = node.tag if node.tag.startswith(f"{{{DEF}}}") else node.tag.split("}")[-1]
            defined.setdefault(local, set()).add(key)
    problems = []
    for node in tree.iter():
        for attr, target in _REFERENCES.items():
            value = node.get(attr)
            if value is not None and value not in defined.get(target, set()):
                problems.append(f"line {node.sourceline}: {attr} '{value}' names no {target}")
    return problems
