"""define.xml: valid Define-XML 2.1, and exactly what the dataset files hold."""

from pathlib import Path

import pyreadstat
import pytest
from lxml import etree

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.sdtm import define_xml

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("define")
    api.convert(STUDY, target)
    return target / "sdtm"


def tree(out: Path) -> etree._Element:
    return etree.parse(str(out / "define.xml")).getroot()


def test_define_xml_is_valid_define_2_1(out: Path):
    assert define_xml.validate((out / "define.xml").read_bytes()) == []


def test_the_validator_reports_broken_documents(out: Path):
    document = (out / "define.xml").read_bytes()
    bad_type = document.replace(b'DataType="text"', b'DataType="txt"', 1)
    assert "'txt' is not an element of the set" in define_xml.validate(bad_type)[0]
    dangling = document.replace(b'MethodOID="MT.SEQ"', b'MethodOID="MT.NONE"', 1)
    assert define_xml.validate(dangling)[0].endswith("MethodOID 'MT.NONE' names no MethodDef")


def test_define_lists_exactly_the_files_with_their_labels_types_and_lengths(out: Path):
    root = tree(out)
    items = {i.get("OID"): i for i in root.iterfind(".//odm:ItemDef", NS)}
    groups = root.findall(".//odm:ItemGroupDef", NS)
    files = sorted(out.glob("*.xpt"))
    assert sorted(
        g.find("def:leaf", NS).get("{http://www.w3.org/1999/xlink}href") for g in groups
    ) == [p.name for p in files]
    for group in groups:
        path = out / f"{group.get('Name').lower()}.xpt"
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        label = group.find("odm:Description/odm:TranslatedText", NS).text
        assert label == meta.file_label
        refs = group.findall("odm:ItemRef", NS)
        defs = [items[r.get("ItemOID")] for r in refs]
        assert [d.get("Name") for d in defs] == meta.column_names, path.name
        for item in defs:
            name = item.get("Name")
            text = item.find("odm:Description/odm:TranslatedText", NS).text
            assert text == meta.column_names_to_labels[name]
            numeric = meta.readstat_variable_types[name] == "double"
            assert (item.get("DataType") in ("integer", "float")) == numeric, name
            if item.get("Length") is not None:
                expected = 8 if numeric else meta.variable_storage_width[name]
                assert int(item.get("Length")) == expected, (path.name, name)
            else:  # ISO 8601 types carry no Length in Define-XML 2.1
                assert item.get("DataType") in ("datetime", "durationDatetime")


def test_value_level_metadata_by_test_code(out: Path):
    root = tree(out)
    refs = root.findall(".//def:ValueListDef[@OID='VL.LB.LBORRES']/odm:ItemRef", NS)
    assert len(refs) == 10
    hgb = root.find(".//odm:ItemDef[@OID='IT.LB.LBORRES.HGB']", NS)
    assert (hgb.get("DataType"), hgb.get("Length"), hgb.get("SignificantDigits")) == (
        "float",
        "4",
        "1",
    )
    origin = hgb.find("def:Origin", NS)
    assert origin.get("Type") == "Collected"
    assert origin.find("odm:Description/odm:TranslatedText", NS).text == (
        "raw/labs_cbc.csv: HGB (g/dL)"
    )
    clause = root.find(".//def:WhereClauseDef[@OID='WC.LB.LBTESTCD.HGB']/odm:RangeCheck", NS)
    assert clause.get("Comparator") == "EQ"
    assert clause.find("odm:CheckValue", NS).text == "HGB"


def test_codelists_carry_nci_codes_and_mark_extensions(out: Path):
    root = tree(out)
    lbtestcd = root.find(".//odm:CodeList[@OID='CL.LBTESTCD']", NS)
    values = {e.get("CodedValue"): e for e in lbtestcd.findall("odm:EnumeratedItem", NS)}
    assert values["HGB"].find("odm:Alias", NS).get("Name") == "C64848"
    assert values["CD19LY"].get("{http://www.cdisc.org/ns/def/v2.1}ExtendedValue") == "Yes"
    assert lbtestcd.find("odm:Alias", NS).get("Name") == "C65047"


def test_origins_and_methods(out: Path):
    root = tree(out)

    def origin(oid: str) -> str:
        return root.find(f".//odm:ItemDef[@OID='{oid}']/def:Origin", NS).get("Type")

    assert origin("IT.AE.AETERM") == "Collected"
    assert origin("IT.LB.LBTESTCD") == "Assigned"
    assert origin("IT.LB.LBSEQ") == "Derived"
    assert origin("IT.TS.TSVAL") == "Protocol"
    ref = root.find(".//odm:ItemGroupDef[@OID='IG.DM']/odm:ItemRef[@ItemOID='IT.DM.RFSTDTC']", NS)
    method = root.find(f".//odm:MethodDef[@OID='{ref.get('MethodOID')}']", NS)
    text = method.find("odm:Description/odm:TranslatedText", NS).text
    assert text == "Earliest complete date among EX.EXSTDTC for the subject."


def test_define_html_renders_every_dataset(out: Path):
    html = (out / "define.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    for path in out.glob("*.xpt"):
        assert f'href="{path.name}"' in html
    assert 'id="VL.LB.LBORRES"' in html and "sponsor extension" in html
    etree.fromstring(html.encode(), etree.HTMLParser(recover=False))
