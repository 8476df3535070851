"""A result amended on a FHIR server comes back consistent: the value there is the result,
the other side (standardised, or original) and its reference range are worked out again, the
status is kept in SUPP--; where no conversion is known the record is one line. Expected
numbers are worked by hand from the bundled study's data (shown beside each)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.errors import UserErrors, collecting
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.ids import patient_id
from trialbridge.fhir.parse import convert
from trialbridge.sdtm.read import read_folder

SUBJECT = "PLMSC-SPMS-01-001"
FIX = (
    "correct the result in the study's source, convert and push the study again (or give "
    "both results on the server)"
)


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return out / "sdtm"


@pytest.fixture(scope="module")
def built(sdtm: Path) -> list[dict[str, Any]]:
    return assemble(read_folder(sdtm)).resources()


def record_of(resources: list[dict[str, Any]], dataset: str, seq: int) -> dict[str, Any]:
    """Subject 001's resource of the dataset's record with that --SEQ."""
    patient = {"reference": f"Patient/{patient_id('PLMSC-SPMS', SUBJECT)}"}
    for resource in resources:
        tags = {t["system"].rsplit("-", 1)[-1]: t["code"] for t in resource["meta"]["tag"]}
        if tags.get("dataset") != dataset or resource.get("subject") != patient:
            continue
        for item in resource.get("extension", []):
            parts = {e["url"]: e for e in item.get("extension", [])}
            name = parts.get("name", {}).get("valueString")
            if name == f"{dataset}SEQ" and parts["value"]["valueDecimal"] == seq:
                return resource
    raise AssertionError(f"no {dataset} record {seq}")


def row(frame: pd.DataFrame, seq: int, prefix: str) -> pd.Series:
    return frame[(frame["USUBJID"] == SUBJECT) & (frame[f"{prefix}SEQ"] == seq)].iloc[0]


def test_an_amended_haemoglobin_gives_its_standard_result_again(built, sdtm):
    resources = copy.deepcopy(built)
    hgb = record_of(resources, "LB", 11)  # 13.1 g/dL, standardised 131 g/L, range 12.0-17.5
    assert hgb["valueQuantity"]["value"] == 13.1
    hgb["status"], hgb["valueQuantity"]["value"] = "amended", 14.1
    parsed = convert(resources).datasets
    lb = parsed["LB"].frame
    amended = row(lb, 11, "LB")
    # 14.1 g/dL is 141 g/L (1 dL = 0.1 L); the range 12.0-17.5 g/dL is 120-175 g/L
    assert (amended["LBORRES"], amended["LBORRESU"]) == ("14.1", "g/dL")
    assert (amended["LBSTRESC"], amended["LBSTRESN"], amended["LBSTRESU"]) == ("141", 141.0, "g/L")
    assert (amended["LBSTNRLO"], amended["LBSTNRHI"]) == (120.0, 175.0)
    assert "LBSTAT" not in lb or pd.isna(amended.get("LBSTAT"))
    supp = parsed["SUPPLB"].frame
    assert supp[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG"]].to_dict(
        "records"
    ) == [
        {
            "USUBJID": SUBJECT,
            "IDVAR": "LBSEQ",
            "IDVARVAL": "11",
            "QNAM": "FHIRSTAT",
            "QLABEL": "FHIR Result Status",
            "QVAL": "amended",
            "QORIG": "Assigned",
        }
    ]
    original = read_folder(sdtm)["LB"].frame
    others = ~((lb["USUBJID"] == SUBJECT) & (lb["LBSEQ"] == 11))
    pd.testing.assert_frame_equal(
        lb[others].reset_index(drop=True), original[others].reset_index(drop=True)
    )


def test_a_corrected_temperature_and_an_amended_score(built):
    resources = copy.deepcopy(built)
    temp = record_of(resources, "VS", 22)  # 36.6 C
    temp["status"], temp["valueQuantity"]["value"] = "corrected", 37.2
    edss = record_of(resources, "QS", 1)  # EDSS 6.5: the value is QSSTRESN
    edss["status"], edss["valueQuantity"]["value"] = "amended", 7
    parsed = convert(resources).datasets
    vs = row(parsed["VS"].frame, 22, "VS")
    assert (vs["VSORRES"], vs["VSSTRESC"], vs["VSSTRESN"], vs["VSSTRESU"]) == (
        "37.2",
        "37.2",
        37.2,
        "C",
    )
    qs = row(parsed["QS"].frame, 1, "QS")
    assert (qs["QSORRES"], qs["QSSTRESC"], qs["QSSTRESN"]) == ("7", "7", 7.0)
    assert parsed["SUPPVS"].frame["QVAL"].tolist() == ["corrected"]
    assert parsed["SUPPQS"].frame["QVAL"].tolist() == ["amended"]


def refused(resources: list[dict[str, Any]]) -> list[str]:
    """Every line a run that gathers problems lists."""
    with pytest.raises(UserErrors) as caught, collecting():
        convert(resources)
    return [e.line() for e in caught.value.problems.kept]


def test_a_result_with_no_conversion_to_its_standard_unit_is_one_line(built):
    resources = copy.deepcopy(built)
    wbc = record_of(resources, "LB", 40)
    assert wbc["code"]["coding"][0]["code"] == "WBC"
    wbc["status"] = "amended"
    wbc["valueQuantity"].update(value=5.2, unit="mmol/L", code="mmol/L")
    (line,) = refused(resources)
    assert line == (
        f"Observation/{wbc['id']}: LB record of {SUBJECT}, LBSEQ 40 (WBC) was amended on the "
        "server: LBORRES 5.2 mmol/L does not give LBSTRESC in 10^9/L (no conversion from "
        "mmol/L to 10^9/L for WBC: mmol/L is amount of substance per volume and 10^9/L is 1 "
        f"per volume); {FIX}"
    )


def test_a_coded_result_no_number_converts_to_is_one_line(built):
    resources = copy.deepcopy(built)
    edss = record_of(resources, "QS", 1)
    extension = next(
        e
        for e in edss["extension"]
        if any(p.get("valueString") == "QSORRES" for p in e.get("extension", []))
    )
    extension["extension"][1]["valueString"] = "Restricted walking"
    edss["status"], edss["valueQuantity"]["value"] = "amended", 7
    (line,) = refused(resources)
    assert line == (
        f"Observation/{edss['id']}: QS record of {SUBJECT}, QSSEQ 1 (EDSS0101) was amended on "
        "the server: QSSTRESN 7 does not give QSORRES (QSORRES was 'Restricted "
        f"walking', a coded result no number converts to); {FIX}"
    )
