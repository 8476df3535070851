"""The PLMSC fixture's EDC exports (bench/edc_export.py): regenerating them gives the committed
bytes, the ODM file is valid ODM 1.3.2, and hand-checked records sit where an EDC puts them."""

from __future__ import annotations

import csv
import io
import shutil
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from bench import edc_export
from tests.helpers import ROOT
from trialbridge.errors import UserError

DESIGN = ROOT / "fixtures" / "plmsc-spms" / "edc.yaml"
ODM = ROOT / "fixtures" / "plmsc-spms-odm" / "raw" / "plmsc-spms.odm.xml"
REDCAP = ROOT / "fixtures" / "plmsc-spms-redcap" / "raw"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def odm() -> etree._ElementTree:
    return etree.parse(str(ODM), PARSER)


def records() -> list[dict[str, str]]:
    with (REDCAP / "records.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def dictionary() -> list[dict[str, str]]:
    with (REDCAP / "data_dictionary.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def item(odm: etree._ElementTree, subject: str, event: str, oid: str) -> list[etree._Element]:
    return odm.xpath(
        f"//odm:SubjectData[@SubjectKey='{subject}']/odm:StudyEventData[@StudyEventOID='{event}']"
        f"//odm:ItemData[@ItemOID='{oid}']",
        namespaces=NS,
    )


def row(event: str, record: str, instrument: str = "", instance: str = "") -> dict[str, str]:
    found = [
        r
        for r in records()
        if (r["record_id"], r["redcap_event_name"]) == (record, event)
        and (r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) == (instrument, instance)
    ]
    assert len(found) == 1
    return found[0]


# --- regeneration -------------------------------------------------------------------------


@pytest.mark.parametrize("block", [edc_export.BLOCK, 7])
def test_regenerating_gives_the_committed_files(tmp_path: Path, block: int):
    """Byte for byte, also when written a few records at a time (block boundaries change
    nothing)."""
    edc = edc_export.load_design(DESIGN)
    tables = edc_export.read_tables(edc)
    written = edc_export.write_odm(edc, tables, tmp_path / "export.odm.xml", block)
    edc_export.write_redcap(edc, tables, tmp_path / "redcap", block)
    assert (tmp_path / "export.odm.xml").read_bytes() == ODM.read_bytes()
    for name in ("records.csv", "data_dictionary.csv", "instrument_designations.csv"):
        assert (tmp_path / "redcap" / name).read_bytes() == (REDCAP / name).read_bytes(), name
    assert written == ODM.read_text(encoding="utf-8").count("<ItemData ")


def test_the_command_line_writes_both_exports(tmp_path: Path):
    edc_export.main(
        [str(DESIGN), "--odm", str(tmp_path / "x.odm.xml"), "--redcap", str(tmp_path / "rc")]
    )
    assert (tmp_path / "x.odm.xml").read_bytes() == ODM.read_bytes()
    assert (tmp_path / "rc" / "records.csv").read_bytes() == (REDCAP / "records.csv").read_bytes()


# --- ODM ------------------------------------------------------------------------------------


def test_the_odm_export_is_valid_odm_1_3_2(odm: etree._ElementTree):
    folder = Path(str(resources.files("odmlib").joinpath("schemas/odm/1.3.2")))
    schema = etree.XMLSchema(etree.parse(str(folder / "ODM1-3-2.xsd"), PARSER))
    assert schema.validate(odm), schema.error_log
    root = odm.getroot()
    assert (root.get("ODMVersion"), root.get("FileType")) == ("1.3.2", "Snapshot")
    assert root.get("CreationDateTime") == "2022-02-15T09:00:00"  # study.yaml's created


def test_one_element_per_line():
    lines = ODM.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    assert all(line.count("<") <= 2 for line in lines)  # a start tag, or text and its end tag
    assert '            <ItemData ItemOID="I.HGB" Value="13.0"/>' in lines


def test_hgb_of_subject_001_at_month_1(odm: etree._ElementTree):
    """labs_cbc.csv row 3: 001,M1,19/07/2021,08:30,6.5,13.0,250,27."""
    (hgb,) = item(odm, "001", "SE.M1", "I.HGB")
    assert hgb.get("Value") == "13.0"
    group = hgb.getparent()
    assert (group.get("ItemGroupOID"), group.getparent().get("FormOID")) == ("IG.CBC", "F.CBC")
    values = {i.get("ItemOID"): i.get("Value") for i in group}
    assert values == {
        "I.LBDAT": "2021-07-19",
        "I.LBTIM": "08:30",
        "I.WBC": "6.5",
        "I.HGB": "13.0",
        "I.PLT": "250",
        "I.LYM": "27",
    }
    assert [i.get("Value") for i in item(odm, "001", "SE.SCR", "I.HGB")] == ["13.1"]


def test_partial_dates_are_partial_date_items(odm: etree._ElementTree):
    """conmeds.csv: UN/03/2019 (001), UN/UN/2018 (002), 15/01/2020 (003), UN/11/2017 (004),
    2019 (005): the rituximab start dates."""
    (definition,) = odm.xpath("//odm:ItemDef[@OID='I.CMSTDAT']", namespaces=NS)
    assert definition.get("DataType") == "partialDate"
    starts = {
        s: [i.get("Value") for i in item(odm, s, "SE.LOG", "I.CMSTDAT")]
        for s in ("001", "002", "003", "004", "005")
    }
    assert starts == {
        "001": ["2021-06-21", "2019-03"],
        "002": ["2018"],
        "003": ["2021-06-24", "2020-01-15"],
        "004": ["2017-11"],
        "005": ["2019"],
    }


def test_repeating_groups_and_the_unscheduled_event(odm: etree._ElementTree):
    (subject,) = odm.xpath("//odm:SubjectData[@SubjectKey='004']", namespaces=NS)
    events = [
        (e.get("StudyEventOID"), e.get("StudyEventRepeatKey"))
        for e in subject.iterfind("odm:StudyEventData", NS)
    ]
    assert events == [
        ("SE.SCR", None),
        ("SE.D1", None),
        ("SE.M1", None),
        ("SE.UNS", "1"),  # the repeat CBC of 12/08/2021, between months 1 and 3 as in the CSV
        ("SE.M3", None),
        ("SE.M6", None),
        ("SE.EOS", None),
        ("SE.LOG", None),
    ]
    assert [i.get("Value") for i in item(odm, "004", "SE.UNS", "I.LBTIM")] == ["09:10"]
    assert subject.find("odm:SiteRef", NS).get("LocationOID") == "SITE.02"
    conmeds = odm.xpath(
        "//odm:SubjectData[@SubjectKey='001']//odm:ItemGroupData[@ItemGroupOID='IG.CM']",
        namespaces=NS,
    )
    assert [g.get("ItemGroupRepeatKey") for g in conmeds] == ["1", "2"]


def test_missing_values(odm: etree._ElementTree):
    """vitals.csv 003 M1 has no respiratory rate and 003's AE no end time: IsNull="Yes"; a
    height not measured (vitals after screening) has no ItemData at all."""
    (resp,) = item(odm, "003", "SE.M1", "I.RESP")
    assert (resp.get("IsNull"), resp.get("Value")) == ("Yes", None)
    (end,) = item(odm, "003", "SE.LOG", "I.AEENTIM")
    assert (end.get("IsNull"), end.get("Value")) == ("Yes", None)
    assert item(odm, "003", "SE.M1", "I.HEIGHT") == []
    assert len(odm.xpath("//odm:ItemData[@IsNull]", namespaces=NS)) == 2


def test_codes_and_metadata(odm: etree._ElementTree):
    """Severity 1 stays 1; Serious No -> 0 (CL.NY); Race White -> 5; CD20 '<0.5' is text."""
    assert [i.get("Value") for i in item(odm, "001", "SE.LOG", "I.AESEV")] == ["1"]
    assert [i.get("Value") for i in item(odm, "001", "SE.LOG", "I.AESER")] == ["0"]
    assert [i.get("Value") for i in item(odm, "001", "SE.SCR", "I.RACE")] == ["5"]
    assert [i.get("Value") for i in item(odm, "004", "SE.M3", "I.CD20")] == ["<0.5"]
    assert 'ItemOID="I.CD20" Value="&lt;0.5"' in ODM.read_text(encoding="utf-8")
    (sex,) = odm.xpath("//odm:ItemDef[@OID='I.SEX']", namespaces=NS)
    assert (sex.get("Name"), sex.get("DataType"), sex.get("Length")) == ("sex", "integer", "1")
    assert sex.find("odm:CodeListRef", NS).get("CodeListOID") == "CL.SEX"
    decodes = odm.xpath(
        "//odm:CodeList[@OID='CL.SEX']/odm:CodeListItem/odm:Decode/odm:TranslatedText/text()",
        namespaces=NS,
    )
    assert decodes == ["Male", "Female"]
    (hgb,) = odm.xpath("//odm:ItemDef[@OID='I.HGB']", namespaces=NS)
    assert (hgb.get("DataType"), hgb.get("SignificantDigits")) == ("float", "1")
    groups = odm.xpath("//odm:ItemGroupDef[@Repeating='Yes']/@OID", namespaces=NS)
    assert groups == ["IG.MRI", "IG.AE", "IG.CM"]


# --- REDCap ---------------------------------------------------------------------------------


def test_redcap_files_have_redcap_headers():
    first = (REDCAP / "data_dictionary.csv").read_text(encoding="utf-8").splitlines()[0]
    assert next(csv.reader(io.StringIO(first))) == list(edc_export.DICTIONARY_HEADER)
    assert first.startswith('"Variable / Field Name","Form Name",')
    designations = (REDCAP / "instrument_designations.csv").read_text(encoding="utf-8")
    assert designations.splitlines()[:3] == [
        "arm_num,unique_event_name,form",
        "1,screening_arm_1,demographics",
        "1,screening_arm_1,eligibility",
    ]
    header = (REDCAP / "records.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:6] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
        "icdat",
    ]


def test_a_checkbox_row():
    """eligibility.csv row 4: subject 003 meets the four inclusion criteria (Y) and has none of
    the five exclusions (N): incl___1..4 ticked, excl___1..5 not; eligible is a yesno."""
    screening = row("screening_arm_1", "003")
    assert [screening[f"incl___{n}"] for n in range(1, 5)] == ["1"] * 4
    assert [screening[f"excl___{n}"] for n in range(1, 6)] == ["0"] * 5
    assert (screening["eligible"], screening["iedat"]) == ("1", "2021-06-16")
    assert screening["redcap_data_access_group"] == "shariati_hospital"
    incl = next(f for f in dictionary() if f["Variable / Field Name"] == "incl")
    assert (incl["Field Type"], incl["Form Name"]) == ("checkbox", "eligibility")
    assert incl["Choices, Calculations, OR Slider Labels"] == (
        "1, Secondary progressive MS by the McDonald criteria | 2, Disease duration over 2 and "
        "under 15 years | 3, Currently treated with rituximab | 4, Able to give informed consent"
    )
    # on rows without the eligibility form the boxes are unticked, as REDCap exports them
    assert row("logs_arm_1", "003", "adverse_events", "1")["incl___1"] == "0"


def test_redcap_rows_fields_and_values():
    month_1 = row("month_1_arm_1", "001")
    assert (month_1["hgb"], month_1["lbdat"], month_1["lbtim"]) == ("13.0", "2021-07-19", "08:30")
    assert month_1["labs_cbc_complete"] == "2" and month_1["cognitive_complete"] == ""
    # the partial rituximab start date is a text field keeping the CRF's text
    assert row("logs_arm_1", "001", "conmeds", "2")["cmstdat"] == "UN/03/2019"
    assert row("logs_arm_1", "001", "conmeds", "1")["cmstdat"] == "21/06/2021"
    assert row("logs_arm_1", "001", "conmeds", "1")["cmendat"] == "2021-06-21"
    adverse = row("logs_arm_1", "001", "adverse_events", "1")
    assert (adverse["aesev"], adverse["aeser"], adverse["aerel"]) == ("1", "0", "3")
    assert row("unscheduled_arm_1", "004", "", "1")["lbdat"] == "2021-08-12"
    assert row("screening_arm_1", "002", "mri", "1")["tract"] == "Corpus callosum"
    types = {f["Variable / Field Name"]: f["Field Type"] for f in dictionary()}
    assert [types[n] for n in ("sex", "aesev", "aeser", "cmdosu", "cmstdat")] == [
        "radio",
        "radio",
        "yesno",
        "dropdown",
        "text",
    ]
    validation = {
        f["Variable / Field Name"]: f["Text Validation Type OR Show Slider Number"]
        for f in dictionary()
    }
    assert [validation[n] for n in ("lbdat", "lbtim", "hgb", "plt", "cmstdat")] == [
        "date_dmy",
        "time",
        "number",
        "integer",
        "",
    ]


# --- bad input ------------------------------------------------------------------------------


def _broken(tmp_path: Path, file: str, old: str, new: str) -> str:
    study = tmp_path / "study"
    shutil.copytree(DESIGN.parent, study)
    path = study / file
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    edc = edc_export.load_design(study / "edc.yaml")
    with pytest.raises(UserError) as caught:
        edc_export.write_odm(edc, edc_export.read_tables(edc), tmp_path / "out.xml")
    return caught.value.line()


def test_a_value_without_a_code_names_its_cell(tmp_path: Path):
    message = _broken(tmp_path, "raw/adverse_events.csv", ",Possible,", ",Maybe,")
    assert message == (
        "raw/adverse_events.csv, row 2, column Relationship to PLMSC: value 'Maybe' of item "
        "aerel has no code; fix the CSV or the design (edc.yaml)"
    )


def test_a_visit_that_is_not_an_event_of_the_form(tmp_path: Path):
    message = _broken(tmp_path, "raw/labs_cbc.csv", "001,M3,", "001,M6,")
    assert message == (
        "raw/labs_cbc.csv, row 4, column Visit: visit 'M6' is not an event of form labs_cbc; "
        "use one of SCR, M1, M3, UNS, or add the event to the form's events"
    )


def test_a_second_record_of_a_form_that_does_not_repeat(tmp_path: Path):
    message = _broken(tmp_path, "raw/edss.csv", "001,M1,", "001,SCR,")
    assert message == (
        "raw/edss.csv, row 3: form edss does not repeat, yet subject 001 has a second record "
        "at event SCR; set 'repeat: true' for the form in the design"
    )


def test_a_date_that_is_not_complete(tmp_path: Path):
    message = _broken(tmp_path, "raw/vitals.csv", "001,SCR,12/06/2021", "001,SCR,UN/06/2021")
    assert message == (
        "raw/vitals.csv, row 2, column Date: value 'UN/06/2021' of item vsdat is not a date "
        "(dd/mm/yyyy); fix the CSV or the design (edc.yaml)"
    )


def test_a_column_the_design_does_not_know(tmp_path: Path):
    message = _broken(tmp_path, "raw/edss.csv", "EDSS score", "EDSS total")
    assert message == (
        "raw/edss.csv, row 1, column EDSS total: column 'EDSS total' is not an item of form "
        "edss; add it to the form's items in the design"
    )
