"""ODM 1.3.2 as EDCs write it (seen in public OpenClinica 3.x, OpenEDC, REDCap and CDISC
example exports): Include, several versions per file, repeated item Names, external
dictionaries, empty and padded values, vendor attributes, per-value units, a subject table,
multi-select values, lenient reading, and the structures ODM 1.3 does not allow. Each file
here is hand-written; the expected tables are read off it by eye."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialbridge.converters.lineage import NOTES, ROWS_READ, ROWS_SKIPPED
from trialbridge.converters.odm import read_odm
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.study import Source
from trialbridge.xml_safety import doctype_line

NS = "http://www.cdisc.org/ns/odm/v1.3"
OC = "http://www.openclinica.org/ns/odm_ext_v130/v3.1"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="{NS}" FileType="Snapshot">\n'
DEFS = """
      <StudyEventDef OID="SE.1" Name="Visit 1" Repeating="No" Type="Scheduled"/>
      <FormDef OID="F.VS" Name="Vitals" Repeating="No"/>
      <ItemGroupDef OID="IG.VS" Name="Vitals" Repeating="No">
        <ItemRef ItemOID="I.DATE" Mandatory="Yes"/>
        <ItemRef ItemOID="I.WT" Mandatory="No"/>
        <ItemRef ItemOID="I.POS" Mandatory="No"/>
      </ItemGroupDef>
      <ItemDef OID="I.DATE" Name="vsdat" DataType="date"/>
      <ItemDef OID="I.WT" Name="weight" DataType="float"/>
      <ItemDef OID="I.POS" Name="pos" DataType="integer">
        <CodeListRef CodeListOID="CL.POS"/></ItemDef>
      <CodeList OID="CL.POS" Name="Position" DataType="integer">
        <CodeListItem CodedValue="1"><Decode><TranslatedText>Sitting</TranslatedText></Decode>
        </CodeListItem>
        <CodeListItem CodedValue="2"><Decode><TranslatedText>Standing</TranslatedText></Decode>
        </CodeListItem>
      </CodeList>"""


def _study(oid: str, version: str, body: str = DEFS) -> str:
    version = f'<MetaDataVersion OID="{version}" Name="v">{body}\n    </MetaDataVersion>'
    return f'  <Study OID="{oid}">\n    {version}\n  </Study>\n'


def _data(study: str, version: str, subjects: str) -> str:
    opening = f'<ClinicalData StudyOID="{study}" MetaDataVersionOID="{version}">'
    return f"  {opening}{subjects}</ClinicalData>\n"


def _subject(key: str, items: str, attributes: str = "", event: str = "SE.1") -> str:
    return (
        f'<SubjectData SubjectKey="{key}"{attributes}><StudyEventData StudyEventOID="{event}">'
        f'<FormData FormOID="F.VS"><ItemGroupData ItemGroupOID="IG.VS">{items}'
        "</ItemGroupData></FormData></StudyEventData></SubjectData>\n"
    )


def _item(oid: str, value: str) -> str:
    return f'<ItemData ItemOID="{oid}" Value="{value}"/>'


def _read(tmp_path: Path, text: str, **options) -> object:
    (tmp_path / "export.xml").write_text(text, encoding="utf-8")
    options.setdefault("item_group", "IG.VS")
    return read_odm(tmp_path, [Source(name="s", file="export.xml", **options)])["s"]


def _error(tmp_path: Path, text: str, **options) -> str:
    with pytest.raises(UserError) as caught, collecting():
        _read(tmp_path, text, **options)
    return caught.value.line()


def _rows(frame, *columns: str) -> list[list[object]]:
    picked = frame[list(columns)].astype(object)
    return picked.where(picked.notna(), None).values.tolist()


SIMPLE = (
    HEAD + _study("S", "V") + _data("S", "V", _subject("001", _item("I.WT", "70"))) + "</ODM>\n"
)


# --- the prolog -------------------------------------------------------------------------------


def test_a_doctype_inside_a_comment_is_no_dtd(tmp_path: Path):
    """CDISC's Connect-A-Thon example comments out its DOCTYPE (and an old root) before the
    root element."""
    commented = (
        '<!-- <!DOCTYPE ODM SYSTEM "odm1-1-0.dtd"> <ODM old="1"> -->\n<?pi <!DOCTYPE x> ?>\n'
    )
    text = SIMPLE.replace("<ODM ", commented + "<ODM ", 1)
    assert _read(tmp_path, text)["weight"].tolist() == ["70"]
    assert doctype_line(text.encode()) is None
    real = SIMPLE.replace("<ODM ", commented + '<!DOCTYPE ODM [<!ENTITY x "y">]>\n<ODM ', 1)
    assert doctype_line(real.encode()) == 4
    assert _error(tmp_path, real) == (
        "export.xml, line 4, column 1: XML entity 'x' is declared in a DOCTYPE, which is not "
        "allowed; an ODM export needs no DTD: remove the DOCTYPE declaration or export the file "
        "again"
    )


# --- metadata: Include and several versions ----------------------------------------------------


def _openclinica(site_body: str = "") -> str:
    """OpenClinica 3.x: the parent study defines everything; each site's version includes it
    (and may redefine an event), and the data of a site names the site's study and version."""
    include = '\n      <Include StudyOID="S_PARENT" MetaDataVersionOID="v1.0.0"/>'
    site_event = (
        '\n      <StudyEventDef OID="SE.1" Name="Visit 1 (site)" Repeating="No" Type="Scheduled"/>'
    )
    subject = _subject("SS_001", _item("I.DATE", "2021-03-04") + _item("I.WT", "70.5"))
    return (
        HEAD
        + _study("S_PARENT", "v1.0.0")
        + _study("S_SITE1", "v1.0.0-S_SITE1", include + site_event + site_body)
        + _data("S_SITE1", "v1.0.0-S_SITE1", subject)
        + "</ODM>\n"
    )


def test_a_site_version_includes_the_parent_study_s(tmp_path: Path):
    frame = _read(tmp_path, _openclinica())
    assert _rows(
        frame, "StudyOID", "SubjectKey", "SiteRef", "StudyEventOID", "vsdat", "weight"
    ) == [["S_SITE1", "SS_001", None, "SE.1", "2021-03-04", "70.5"]]


def test_includes_that_loop_or_name_a_missing_version(tmp_path: Path):
    loop = _openclinica().replace(
        '<MetaDataVersion OID="v1.0.0" Name="v">',
        '<MetaDataVersion OID="v1.0.0" Name="v">\n      <Include StudyOID="S_SITE1" '
        'MetaDataVersionOID="v1.0.0-S_SITE1"/>',
    )
    assert _error(tmp_path, loop) == (
        "export.xml, line 4: MetaDataVersion v1.0.0 of study S_PARENT includes "
        "MetaDataVersion v1.0.0-S_SITE1 of study S_SITE1, which includes it again: a cycle; an "
        "Include must name an earlier version of the study or its parent study"
    )
    missing = _openclinica().replace('MetaDataVersionOID="v1.0.0"/>', 'MetaDataVersionOID="v0"/>')
    assert _error(tmp_path, missing) == (
        "export.xml, line 25: MetaDataVersion v1.0.0-S_SITE1 includes MetaDataVersion 'v0' of "
        "study 'S_PARENT', which the file does not hold; export the parent study's metadata "
        "with the site's (or name a file that has it with 'metadata:')"
    )


def test_each_clinical_data_is_read_with_its_own_version(tmp_path: Path):
    """Version 2 adds an item: the table has it, null for the records of version 1."""
    v2 = (
        DEFS.replace(
            '<ItemRef ItemOID="I.POS" Mandatory="No"/>',
            '<ItemRef ItemOID="I.POS" Mandatory="No"/><ItemRef ItemOID="I.HT" Mandatory="No"/>',
        )
        + '\n      <ItemDef OID="I.HT" Name="height" DataType="integer"/>'
    )
    studies = _study("S", "V1").replace("  </Study>\n", "") + (
        f'    <MetaDataVersion OID="V2" Name="v2">{v2}\n    </MetaDataVersion>\n  </Study>\n'
    )
    text = (
        HEAD
        + studies
        + _data("S", "V1", _subject("001", _item("I.WT", "70")))
        + _data("S", "V2", _subject("002", _item("I.WT", "80") + _item("I.HT", "181")))
        + "</ODM>\n"
    )
    frame = _read(tmp_path, text)
    assert _rows(frame, "SubjectKey", "weight", "height") == [
        ["001", "70", None],
        ["002", "80", "181"],
    ]
    first_only = text.replace(_item("I.HT", "181"), "").replace('"V2">', '"V1">', 1)
    assert _error(tmp_path, first_only.replace(_item("I.WT", "80"), _item("I.HT", "1"))) == (
        "export.xml, line 46: ItemOID 'I.HT' is not in the metadata (MetaDataVersion V1); export "
        "the metadata with the data, or fix the OID"
    )


def test_a_group_no_version_defines_lists_the_groups_there_are(tmp_path: Path):
    assert _error(tmp_path, SIMPLE, item_group="IG.LAB") == (
        "export.xml: item group 'IG.LAB' is not in the ODM metadata (MetaDataVersion V); use "
        "one of: IG.VS"
    )


def test_a_repeated_item_name_becomes_its_oid_with_a_note(tmp_path: Path):
    """ODM asks only ItemOIDs to be unique (REDCap_Service and CDISC's typed-data sample
    repeat Names)."""
    text = SIMPLE.replace('Name="pos"', 'Name="weight"').replace(
        _item("I.WT", "70"), _item("I.WT", "70") + _item("I.POS", "2")
    )
    frame = _read(tmp_path, text)
    assert _rows(frame, "weight", "I.POS") == [["70", "2"]]
    assert frame.attrs[NOTES] == [
        "item I.POS of ItemGroupDef IG.VS is column 'I.POS': its Name 'weight' is item I.WT's"
    ]


# --- values -------------------------------------------------------------------------------------


def test_an_external_dictionary_accepts_its_values_and_names_itself(tmp_path: Path):
    external = (
        '<CodeList OID="CL.POS" Name="Position" DataType="integer">'
        '<ExternalCodeList Dictionary="MedDRA" Version="26.0"/></CodeList>'
    )
    start = DEFS.index('<CodeList OID="CL.POS"')
    defs = DEFS[:start] + external
    subjects = _subject("001", _item("I.POS", "10019211")) + _subject("002", _item("I.WT", "1"))
    text = HEAD + _study("S", "V", defs) + _data("S", "V", subjects) + "</ODM>\n"
    frame = _read(tmp_path, text)
    assert _rows(frame, "pos", "pos.Dictionary", "pos.Version") == [
        ["10019211", "MedDRA", "26.0"],
        [None, None, None],
    ]


def test_values_are_trimmed_and_empty_ones_are_null(tmp_path: Path):
    items = (
        _item("I.DATE", " 2021-03-04")
        + _item("I.WT", "71.45 ")
        + '<ItemDataInteger ItemOID="I.POS"></ItemDataInteger>'
    )
    text = SIMPLE.replace(_item("I.WT", "70"), items)
    assert _rows(_read(tmp_path, text), "vsdat", "weight", "pos") == [["2021-03-04", "71.45", None]]


def test_an_item_group_holding_no_value_is_a_counted_blank(tmp_path: Path):
    blank = _subject("002", "").replace("</ItemGroupData>", _item("I.WT", " ") + "</ItemGroupData>")
    text = SIMPLE.replace("</ClinicalData>", blank + "</ClinicalData>")
    frame = _read(tmp_path, text)
    assert frame["SubjectKey"].tolist() == ["001"]
    assert frame.attrs[ROWS_READ] == 2
    assert frame.attrs[ROWS_SKIPPED]["blank"] == 1


def test_vendor_attributes_and_units_are_columns(tmp_path: Path):
    """OpenClinica's subject, event and form attributes, and a MeasurementUnitRef inside
    ItemData (OpenClinica) or a typed ItemData's MeasurementUnitOID."""
    units = (
        '\n    <BasicDefinitions><MeasurementUnit OID="MU.KG" Name="kg"><Symbol>'
        "<TranslatedText>kg</TranslatedText></Symbol></MeasurementUnit><MeasurementUnit "
        'OID="MU.LB" Name="lb"><Symbol><TranslatedText>[lb_av]</TranslatedText></Symbol>'
        "</MeasurementUnit></BasicDefinitions>"
    )
    defs = DEFS.replace(
        '<ItemDef OID="I.WT" Name="weight" DataType="float"/>',
        '<ItemDef OID="I.WT" Name="weight" DataType="float"><MeasurementUnitRef '
        'MeasurementUnitOID="MU.KG"/><MeasurementUnitRef MeasurementUnitOID="MU.LB"/></ItemDef>',
    )
    study = _study("S", "V", defs).replace('<Study OID="S">', '<Study OID="S">' + units)
    first = _subject(
        "001",
        '<ItemData ItemOID="I.WT" Value="70">'
        '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/></ItemData>',
        ' OpenClinica:StudySubjectID="A-1" OpenClinica:Sex="f"',
    ).replace("<StudyEventData ", '<StudyEventData OpenClinica:StartDate="2021-03-04" ')
    first = first.replace(
        '<FormData FormOID="F.VS"', '<FormData FormOID="F.VS" OpenClinica:Version="v2"'
    )
    second = _subject(
        "002", '<ItemDataFloat ItemOID="I.WT" MeasurementUnitOID="MU.LB">154</ItemDataFloat>'
    )
    text = (HEAD + study + _data("S", "V", first + second) + "</ODM>\n").replace(
        "<ODM ", f'<ODM xmlns:OpenClinica="{OC}" ', 1
    )
    frame = _read(tmp_path, text)
    columns = [  # vendor columns after the keys, sorted
        "SubjectKey",
        "FormData.OpenClinica:Version",
        "StudyEventData.OpenClinica:StartDate",
        "SubjectData.OpenClinica:Sex",
        "SubjectData.OpenClinica:StudySubjectID",
        "weight",
        "weight.MeasurementUnitOID",
        "weight.MeasurementUnit",
    ]
    assert [c for c in frame.columns if c in columns] == columns
    assert _rows(frame, *columns) == [
        ["001", "v2", "2021-03-04", "f", "A-1", "70", "MU.KG", "kg"],
        ["002", None, None, None, None, "154", "MU.LB", "[lb_av]"],
    ]


def test_the_subject_table_has_every_subject(tmp_path: Path):
    """A subject with no form at all (no demographics form in the export) is still a row."""
    lone = (
        f'<SubjectData SubjectKey="003" OpenClinica:Sex="m" xmlns:OpenClinica="{OC}">'
        '<SiteRef LocationOID="SITE.2"/></SubjectData>\n'
    )
    text = SIMPLE.replace("</ClinicalData>", lone + "</ClinicalData>")
    frame = _read(tmp_path, text, item_group=None, table="subjects")
    assert list(frame.columns[:4]) == [
        "StudyOID",
        "SubjectKey",
        "SiteRef",
        "SubjectData.OpenClinica:Sex",
    ]
    assert _rows(frame, "StudyOID", "SubjectKey", "SiteRef", "SubjectData.OpenClinica:Sex") == [
        ["S", "001", None, None],
        ["S", "003", "SITE.2", "m"],
    ]


def test_a_multi_select_value_is_split_on_request(tmp_path: Path):
    text = SIMPLE.replace(_item("I.WT", "70"), _item("I.POS", "1,2")).replace(
        "</ClinicalData>",
        _subject("002", _item("I.POS", "2"))
        + _subject("003", _item("I.WT", "1"))
        + "</ClinicalData>",
    )
    assert _error(tmp_path, text) == (
        "export.xml, line 24: value '1,2' of item pos (I.POS) is not a valid integer; the "
        "value lists codes of a multi-select item: name it in 'split' for this source"
    )
    frame = _read(tmp_path, text, split=["pos"])
    assert _rows(frame, "pos", "pos___1", "pos___2") == [
        ["1,2", "1", "1"],
        ["2", "0", "1"],
        [None, None, None],
    ]
    assert _error(tmp_path, text, split=["position"]) == (
        "export.xml: 'split' of source 's' names 'position', which is no item of item group "
        "IG.VS; name one of its items: pos, vsdat, weight"
    )
    assert _error(tmp_path, text.replace('"1,2"', '"1, 3"'), split=["pos"]) == (
        "export.xml, line 24: value '3' of item pos (I.POS) is not in its CodeList CL.POS (1, 2); "
        "the ItemDef declares DataType integer: fix the value or the metadata"
    )


def test_a_lenient_source_keeps_misfits_as_notes(tmp_path: Path):
    """OpenClinica form versions carry codes another version's codelist lacks."""
    text = SIMPLE.replace(
        _item("I.WT", "70"), _item("I.POS", "3") + _item("I.WT", "70 kg")
    ).replace("</ClinicalData>", _subject("002", _item("I.POS", "3")) + "</ClinicalData>")
    with pytest.raises(UserErrors) as caught, collecting():
        _read(tmp_path, text)
    assert caught.value.line().startswith("export.xml, line 24: value '70 kg' of item weight")
    frame = _read(tmp_path, text, lenient=True)
    assert _rows(frame, "pos", "weight") == [["3", "70 kg"], ["3", None]]
    assert frame.attrs[NOTES] == [
        "lenient: 1 kept value of item weight (I.WT) that is not a valid float: '70 kg' (first at "
        "export.xml, line 24)",
        "lenient: 2 kept values of item pos (I.POS) that is not in its CodeList CL.POS (1, 2): '3' "
        "(first at export.xml, line 24)",
    ]


# --- structure ----------------------------------------------------------------------------------


def test_forms_directly_in_a_subject_are_read(tmp_path: Path):
    """REDCap's export of a project without events has no StudyEventData."""
    text = SIMPLE.replace('<StudyEventData StudyEventOID="SE.1">', "").replace(
        "</StudyEventData>", ""
    )
    assert _rows(_read(tmp_path, text), "SubjectKey", "StudyEventOID", "weight") == [
        ["001", None, "70"]
    ]


def test_odm_2_values_and_nesting_are_refused(tmp_path: Path):
    value = SIMPLE.replace(
        _item("I.WT", "70"), '<ItemData ItemOID="I.WT"><Value>70</Value></ItemData>'
    )
    assert _error(tmp_path, value) == (
        "export.xml, line 24: ItemData holds its value in a Value element, as ODM 2.0 writes it; "
        "ODM 1.3 has a Value attribute; export the data as CDISC ODM 1.3.2"
    )
    nested = SIMPLE.replace('<FormData FormOID="F.VS">', "").replace("</FormData>", "")
    assert _error(tmp_path, nested).startswith(
        "export.xml, line 24: ItemGroupData inside StudyEventData, not inside a FormData: ODM "
        "2.0 nests data so, ODM 1.3 does not"
    )


def test_an_openclinica_multi_select_item_is_checked_code_by_code(tmp_path: Path):
    """OpenClinica 3.x gives a checkbox item no CodeList but its own MultiSelectList: each
    code of a value is checked against it, split or not."""
    several = (
        '<ItemDef OID="I.POS" Name="pos" DataType="text" Length="3">'
        '<OpenClinica:MultiSelectListRef MultiSelectListID="MSL_1"/></ItemDef>'
        '<OpenClinica:MultiSelectList ID="MSL_1" Name="pos" DataType="text">'
        '<OpenClinica:MultiSelectListItem CodedOptionValue="1"/>'
        '<OpenClinica:MultiSelectListItem CodedOptionValue="3"/></OpenClinica:MultiSelectList>'
    )
    start, end = DEFS.index('<ItemDef OID="I.POS"'), DEFS.index("</CodeList>") + len("</CodeList>")
    study = _study("S", "V", DEFS[:start] + several + DEFS[end:])
    subject = _subject("001", _item("I.POS", "1,3"))
    text = (HEAD + study + _data("S", "V", subject) + "</ODM>\n").replace(
        "<ODM ", f'<ODM xmlns:OpenClinica="{OC}" ', 1
    )
    assert _rows(_read(tmp_path, text), "pos") == [["1,3"]]
    assert _rows(_read(tmp_path, text, split=["pos"]), "pos___1", "pos___3") == [["1", "1"]]
    assert _error(tmp_path, text.replace('"1,3"', '"1,4"')) == (
        "export.xml, line 17: value '4' of item pos (I.POS) is not in its CodeList MSL_1 (1, 3); "
        "the ItemDef declares DataType text: fix the value or the metadata"
    )
