"""Bad EDC exports through `trialbridge convert`: exit 2, one line naming the place, no
output folder. One test per bad input the ODM and REDCap readers must refuse."""

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import fails_with, replace_in, run_cli

FIXTURES = Path(__file__).parent.parent.parent / "fixtures"
ODM = "raw/plmsc-spms.odm.xml"
RECORDS = "raw/records.csv"


def _variant(tmp_path: Path, name: str) -> Path:
    """A private copy of a variant folder beside its base, so `extends` still resolves."""
    for folder in ("plmsc-spms", name):
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    return tmp_path / name


def _odm(tmp_path: Path, old: str, new: str) -> Path:
    study = _variant(tmp_path, "plmsc-spms-odm")
    replace_in(study / ODM, old, new)
    return study


def test_malformed_xml(tmp_path: Path):
    study = _odm(tmp_path, '<ItemData ItemOID="I.SEX" Value="2"/>', '<ItemData ItemOID="I.SEX">')
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 1013, column 27: malformed XML: Opening and ending tag mismatch: ItemData "
        "line 1009 and ItemGroupData; fix the file or export it again from the EDC",
    )


def test_external_entity(tmp_path: Path):
    study = _odm(
        tmp_path, "<ODM ", '<!DOCTYPE ODM [<!ENTITY xxe SYSTEM "http://example.org/x">]>\n<ODM '
    )
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 2, column 1: XML external entity 'xxe' (SYSTEM \"http://example.org/x\") "
        "is not allowed: it would read a file or URL while parsing; an ODM export needs no DTD: "
        "remove the DOCTYPE declaration or export the file again",
    )


def test_entity_expansion_bomb(tmp_path: Path):
    bomb = '<!DOCTYPE ODM [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    study = _odm(tmp_path, "<ODM ", bomb + "<ODM ")
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 2, column 1: XML entity 'b' expands other entities (an entity-expansion "
        "bomb) and is not allowed; an ODM export needs no DTD: remove the DOCTYPE declaration "
        "or export the file again",
    )


def test_item_oid_not_in_the_metadata(tmp_path: Path):
    study = _odm(
        tmp_path,
        '<ItemData ItemOID="I.SEX" Value="2"/>',
        '<ItemData ItemOID="I.GENDER" Value="2"/>',
    )
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 1009: ItemOID 'I.GENDER' is not in the metadata (MetaDataVersion "
        "MDV.PLMSC-SPMS.1); export the metadata with the data, or fix the OID",
    )


def test_value_that_does_not_fit_its_data_type(tmp_path: Path):
    study = _odm(
        tmp_path, 'ItemOID="I.BRTHDAT" Value="1983-03-14"', 'ItemOID="I.BRTHDAT" Value="14/03/1983"'
    )
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 1008: value '14/03/1983' of item brthdat (I.BRTHDAT) is not a valid date; "
        "the ItemDef declares DataType date: fix the value or the metadata",
    )


def test_odm_in_the_wrong_encoding(tmp_path: Path):
    study = _variant(tmp_path, "plmsc-spms-odm")
    path = study / ODM
    text = path.read_text().replace("Tehran", "T\u00e9hran", 1)
    path.write_bytes(text.encode("latin-1"))
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "T\u00e9hran" in t)
    column = text.splitlines()[line - 1].index("\u00e9") + 1
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line {line}, column {column}: byte 0xE9 is not valid UTF-8; save the export as "
        "UTF-8, or declare its encoding in the XML declaration",
    )


def test_redcap_field_missing_from_the_dictionary(tmp_path: Path):
    study = _variant(tmp_path, "plmsc-spms-redcap")
    replace_in(study / RECORDS, "record_id,redcap_event_name,", "record_id,redcap_event_nam,")
    fails_with(
        study,
        tmp_path,
        f"{RECORDS}, row 1, column redcap_event_nam: REDCap field 'redcap_event_nam' is not in "
        "the data dictionary; export the records and the data dictionary of the project "
        "together, unchanged",
    )


def test_redcap_in_the_wrong_encoding(tmp_path: Path):
    study = _variant(tmp_path, "plmsc-spms-redcap")
    path = study / RECORDS
    text = path.read_text().replace("Corpus callosum", "Corpus call\u00f6sum", 1)
    path.write_bytes(text.encode("latin-1"))
    row = next(i for i, t in enumerate(text.splitlines(), 1) if "\u00f6" in t)
    fails_with(
        study,
        tmp_path,
        f"{RECORDS}, row {row}: byte 0xF6 is not valid utf-8; save the file as UTF-8 or set "
        "'encoding' for this source in study.yaml",
    )


@pytest.mark.parametrize("name", ["plmsc-spms-odm", "plmsc-spms-redcap"])
def test_variants_convert_cleanly(tmp_path: Path, name: str):
    result = run_cli("convert", _variant(tmp_path, name), "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "0 reject, 0 error, 0 warning" in result.output


def test_a_lenient_source_converts_and_notes_what_it_kept(tmp_path: Path):
    """A weight written with a decimal comma: strict stops, lenient keeps it (VSORRES as
    written) and says so in the summary line and in reconciliation.csv's notes."""
    study = _odm(
        tmp_path,
        '<ItemData ItemOID="I.WEIGHT" Value="64.5"/>',
        '<ItemData ItemOID="I.WEIGHT" Value="64,5"/>',
    )
    fails_with(
        study,
        tmp_path,
        f"{ODM}, line 1039: value '64,5' of item weight (I.WEIGHT) is not a valid float; the "
        "ItemDef declares DataType float: fix the value or the metadata",
    )
    replace_in(study / "study.yaml", "item_group: IG.VS}", "item_group: IG.VS, lenient: true}")
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "; 1 notes on what sources changed or let pass" in result.output
    with (out / "reconciliation.csv").open(newline="") as handle:
        rows = csv.DictReader(handle)
        notes = {r["source"]: r["notes"] for r in rows if r["notes"] and r["domain"] == ""}
    assert notes == {
        "vitals": "lenient: 1 kept value of item weight (I.WEIGHT) that is not a valid float: "
        f"'64,5' (first at {ODM}, line 1039)"
    }
    vs = json.loads((out / "sdtm" / "vs.json").read_text())
    names = [c["name"] for c in vs["columns"]]
    results = {
        r[names.index("VSORRES")] for r in vs["rows"] if r[names.index("VSTESTCD")] == "WEIGHT"
    }
    assert "64,5" in results
