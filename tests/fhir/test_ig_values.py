"""Values in the elements the HL7/CDISC mapping guide names, each edge worked by hand: a
result's precision and comparator, a coded result, a seriousness criterion not met, an event
without a suspected treatment, a MedDRA level the data lacks. Each is in a standard element
where FHIR can hold it, rides in sdtm-variable where it cannot, and parses back unchanged."""

from dataclasses import replace

import orjson
import pandas as pd
import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.errors import UserError
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.encode import ncit_terms
from trialbridge.fhir.parse import parse
from trialbridge.fhir.table import SDTM_VARIABLE
from trialbridge.sdtm.dataset import finalize
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.sdtm.read import read_folder

MDR = "http://terminology.hl7.org/CodeSystem/mdr"
SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return read_folder(out / "sdtm")


def changed(datasets, name: str, row: int, **values: object) -> dict:
    """The datasets with values set in one record; a variable the dataset lacks (PLMSC's AE
    has no seriousness criteria) is added as SDTMIG defines it."""
    frame = datasets[name].frame.copy()
    for column, value in values.items():
        frame.loc[row, column] = value
    if set(values) - {v.name for v in datasets[name].variables}:
        return {**datasets, name: finalize(name, domain_meta(name), frame)}
    return {**datasets, name: replace(datasets[name], frame=frame)}


def built(datasets, name: str) -> list[tuple[str, dict]]:
    """(JSON text, resource) of a dataset's resources (or Medications), in record order."""
    texts = [
        text
        for one in assemble(datasets).built
        if one.dataset == name or (name == "Medication" and one.resource == name)
        for text in one.texts().to_pylist()
    ]
    return [(text, orjson.loads(text)) for text in texts]


def carried(resource: dict) -> dict[str, object]:
    return {
        e["extension"][0]["valueString"]: e["extension"][1].get(
            "valueString", e["extension"][1].get("valueDecimal")
        )
        for e in resource.get("extension", [])
        if e["url"] == SDTM_VARIABLE and len(e["extension"]) == 2
    }


def back(datasets, name: str, row: int, column: str) -> object:
    resources = assemble(datasets).resources()
    return parse(resources)[name].frame[column].iat[row]


def haemoglobin(datasets) -> int:
    frame = datasets["LB"].frame
    return int(frame.index[frame["LBTESTCD"] == "HGB"][0])


@pytest.mark.parametrize(
    ("text", "token", "original"),
    [
        ("13.10", "13.10", "13.10"),  # the precision written; 13.10 reads back as 13.1
        ("097.8", "97.8", "097.8"),  # JSON has no leading zeros
        ("13.1", "13.1", None),
        ("14", "14", None),
    ],
)
def test_a_result_is_the_number_as_collected(datasets, text, token, original):
    row = haemoglobin(datasets)
    changes = changed(datasets, "LB", row, LBORRES=text)
    raw, lab = built(changes, "LB")[row]
    assert f'"value":{token},' in raw
    assert lab["valueQuantity"]["unit"] == "g/dL"
    assert lab["valueQuantity"]["code"] == "g/dL"
    kept = lab["valueQuantity"].get("_value", {}).get("extension", [{}])[0].get("valueString")
    assert kept == original
    assert back(changes, "LB", row, "LBORRES") == text


def test_a_result_below_the_limit_is_a_comparator_and_a_number(datasets):
    row = haemoglobin(datasets)
    changes = changed(datasets, "LB", row, LBORRES="<0.5")
    _, lab = built(changes, "LB")[row]
    assert lab["valueQuantity"] == {
        "value": 0.5,
        "comparator": "<",
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    }
    assert back(changes, "LB", row, "LBORRES") == "<0.5"


def test_a_coded_result_is_text_and_its_unit_rides_in_an_extension(datasets):
    row = haemoglobin(datasets)
    changes = changed(datasets, "LB", row, LBORRES="NEGATIVE")
    _, lab = built(changes, "LB")[row]
    assert "valueQuantity" not in lab
    assert lab["valueCodeableConcept"] == {"text": "NEGATIVE"}
    assert carried(lab)["LBORRESU"] == "g/dL"  # a unit beside no number: not a Quantity
    assert back(changes, "LB", row, "LBORRES") == "NEGATIVE"
    assert back(changes, "LB", row, "LBORRESU") == "g/dL"


def test_a_seriousness_criterion_met_is_a_code_and_one_not_met_rides_along(datasets):
    changes = changed(datasets, "AE", 0, AESER="Y", AESLIFE="Y", AESHOSP="N")
    _, event = built(changes, "AE")[0]
    assert event["seriousness"] == {
        "coding": [
            {"code": "Serious", "system": SERIOUSNESS},
            {"code": "SeriousIsLifeThreatening", "system": SERIOUSNESS},
        ]
    }
    assert carried(event)["AESHOSP"] == "N"
    assert "AESLIFE" not in carried(event)
    assert back(changes, "AE", 0, "AESLIFE") == "Y"
    assert back(changes, "AE", 0, "AESHOSP") == "N"
    assert back(changes, "AE", 0, "AESER") == "Y"


def test_a_criterion_without_seriousness_does_not_pass_for_it(datasets):
    """The list has no gaps: the criterion's coding comes first, and AESER stays empty."""
    changes = changed(datasets, "AE", 0, AESER=None, AESDTH="Y")
    _, event = built(changes, "AE")[0]
    assert event["seriousness"]["coding"] == [
        {"code": "SeriousResultsInDeath", "system": SERIOUSNESS}
    ]
    assert back(changes, "AE", 0, "AESDTH") == "Y"
    assert pd.isna(back(changes, "AE", 0, "AESER"))


def test_causality_names_the_subjects_treatment(datasets):
    _, event = built(datasets, "AE")[0]
    (medication,) = [r for _, r in built(datasets, "Medication")]
    assert medication["code"] == {"text": "PLACENTA-DERIVED MESENCHYMAL STEM CELLS"}
    assert event["suspectEntity"] == [
        {
            "instance": {"reference": f"Medication/{medication['id']}"},
            "causality": [{"productRelatedness": "POSSIBLY RELATED"}],
        }
    ]


def test_without_a_treatment_to_suspect_causality_rides_in_an_extension(datasets):
    without = {k: v for k, v in datasets.items() if k != "EX"}
    _, event = built(without, "AE")[0]
    assert "suspectEntity" not in event
    assert carried(event)["AEREL"] == "POSSIBLY RELATED"
    assert back(without, "AE", 0, "AEREL") == "POSSIBLY RELATED"


def test_a_meddra_level_the_data_lacks_keeps_its_place(datasets):
    """PLMSC's headache: LLT and PT 10019211, SOC 10029205, no HLT or HLGT."""
    _, event = built(datasets, "AE")[0]
    assert event["event"]["coding"] == [
        {"display": "Headache", "system": MDR, "code": "10019211"},
        {"display": "Headache", "system": MDR, "code": "10019211"},
        {"system": MDR},
        {"system": MDR},
        {"display": "Nervous system disorders", "system": MDR, "code": "10029205"},
    ]
    assert back(datasets, "AE", 0, "AESOCCD") == 10029205


def test_a_table_naming_an_unknown_codelist_is_one_line():
    with pytest.raises(UserError) as raised:
        ncit_terms("NOSUCH")
    assert str(raised.value) == (
        "trialbridge/mappings/fhir: codelist NOSUCH is not in the shipped CDISC CT; name a "
        "codelist by its short name (LBTESTCD, UNIT, ...)"
    )


def test_a_dose_unit_has_its_ucum_code(datasets):
    """PLMSC's 1 x 10^6 cells/kg: CDISC unit 10^6/kg is UCUM 10*6/kg (10 to the 6th, per kg);
    the route INTRAVENOUS is NCIt C38276 (ct.tsv, ROUTE)."""
    _, given = built(datasets, "EX")[0]
    assert given["dosage"]["dose"] == {
        "value": 1,
        "unit": "10^6/kg",
        "system": "http://unitsofmeasure.org",
        "code": "10*6/kg",
    }
    assert given["dosage"]["route"]["coding"][0]["code"] == "C38276"


def test_a_medication_is_completed_only_when_the_data_says_it_ended(datasets):
    """ONGOING (CMENRTPT) is active; an end date (CMENDTC) completed; neither, unknown."""
    frame = datasets["CM"].frame
    expected = [
        "active"
        if row.get("CMENRTPT") == "ONGOING"
        else "completed"
        if pd.notna(row.get("CMENDTC"))
        else "unknown"
        for row in frame.to_dict("records")
    ]
    changes = changed(datasets, "CM", 0, CMENDTC=None, CMENRTPT=None)
    expected_changed = ["unknown", *expected[1:]]
    assert [r["status"] for _, r in built(datasets, "CM")] == expected
    assert [r["status"] for _, r in built(changes, "CM")] == expected_changed
    assert set(expected) >= {"active", "completed"}
    assert pd.isna(back(changes, "CM", 0, "CMENRTPT"))


def test_a_result_kept_as_a_number_is_written_as_one(datasets):
    """A sponsor's LBORRES stored as Num (SDTMIG has Char): its numbers are the value, not an
    internal error; the one text result PLMSC has (<0.5) is no number, so it is absent."""
    lb = datasets["LB"]
    frame = lb.frame.copy()
    frame["LBORRES"] = pd.to_numeric(frame["LBORRES"], errors="coerce")
    labs = [r for _, r in built({**datasets, "LB": replace(lb, frame=frame)}, "LB")]
    row = haemoglobin(datasets)
    assert labs[row]["valueQuantity"]["value"] == float(frame["LBORRES"].iat[row])
    assert sum("valueQuantity" in r for r in labs) == int(frame["LBORRES"].notna().sum())
