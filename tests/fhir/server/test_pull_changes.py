"""A pushed study changed on the server comes back consistent: a haemoglobin amended there
(13.1 to 14.1 g/dL, status amended) gives LBSTRESC 141 g/L again and keeps its status in
SUPPLB; what other systems wrote for the study's subjects is counted, and imported with
--include-foreign. Every other record comes back as pushed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyreadstat

from tests.fhir.server.sekmet import Sekmet
from tests.helpers import run_cli
from trialbridge.fhir.ids import patient_id
from trialbridge.roundtrip import compare
from trialbridge.sdtm.read import read_folder

STUDY = "PLMSC-SPMS"
SUBJECT = "PLMSC-SPMS-01-001"


def haemoglobin(fhir: Path) -> dict[str, Any]:
    """Subject 001's LB record 11 as built: HGB 13.1 g/dL."""
    patient = f"Patient/{patient_id(STUDY, SUBJECT)}"
    for line in (fhir / "ndjson" / "Observation.ndjson").read_text().splitlines():
        resource = json.loads(line)
        if resource["subject"]["reference"] != patient:
            continue
        carried = {
            e["extension"][0]["valueString"]: e["extension"][1]
            for e in resource.get("extension", [])
            if e["url"].endswith("sdtm-variable")
        }
        if carried.get("LBSEQ") == {"url": "value", "valueDecimal": 11}:
            return resource
    raise AssertionError("no LB record 11 of subject 001")


def send(server: Sekmet, method: str, path: str, resource: dict[str, Any]) -> None:
    answer = httpx.request(
        method,
        f"{server.base}/{path}",
        json=resource,
        headers={"Content-Type": "application/fhir+json"},
        verify=server.ca,
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text


def test_an_amended_result_and_another_systems_resources(
    fhir_copy: Path, plmsc: Path, server: Sekmet, tmp_path: Path
):
    assert run_cli("fhir", "push", fhir_copy, "--server", server.base).exit_code == 0
    amended = haemoglobin(fhir_copy)
    assert amended["valueQuantity"]["value"] == 13.1
    amended["status"], amended["valueQuantity"]["value"] = "amended", 14.1
    send(server, "PUT", f"Observation/{amended['id']}", amended)
    patient = {"reference": f"Patient/{patient_id(STUDY, SUBJECT)}"}
    theirs = {
        "resourceType": "Observation",
        "id": "ehr-hb-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": patient,
        "effectiveDateTime": "2021-09-01",
        "valueQuantity": {"value": 12.9, "unit": "g/dL"},
    }
    send(server, "PUT", "Observation/ehr-hb-1", theirs)
    condition = {"resourceType": "Condition", "id": "ehr-c-1", "subject": patient}
    send(server, "PUT", "Condition/ehr-c-1", condition)

    back = tmp_path / "back"
    pulled = run_cli("fhir", "pull", "--server", server.base, "--study", STUDY, "--out", back)
    assert pulled.exit_code == 0, pulled.output
    assert (
        "resources other systems wrote for the study's subjects left out: Condition 1, "
        "Observation 1; import them with --include-foreign"
    ) in pulled.output
    original, got = read_folder(plmsc / "sdtm"), read_folder(back)
    assert sorted(got) == sorted([*original, "SUPPLB"])
    for name, dataset in original.items():
        if name != "LB":
            assert compare(dataset, got[name]).lossless, name
    lb, _ = pyreadstat.read_xport(str(back / "lb.xpt"))
    record = lb[(lb.USUBJID == SUBJECT) & (lb.LBSEQ == 11)].iloc[0]
    # 14.1 g/dL = 141 g/L
    assert (record.LBORRES, record.LBSTRESC, record.LBSTRESN) == ("14.1", "141", 141.0)
    supp, _ = pyreadstat.read_xport(str(back / "supplb.xpt"))
    assert supp[["USUBJID", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        [SUBJECT, "11", "FHIRSTAT", "amended"]
    ]
    before, _ = pyreadstat.read_xport(str(plmsc / "sdtm" / "lb.xpt"))
    others = ~((lb.USUBJID == SUBJECT) & (lb.LBSEQ == 11))
    assert lb[others].reset_index(drop=True).equals(before[others].reset_index(drop=True))

    back = tmp_path / "with-foreign"
    pulled = run_cli(
        "fhir", "pull", "--server", server.base, "--study", STUDY, "--out", back,
        "--include-foreign",
    )  # fmt: skip
    assert pulled.exit_code == 0, pulled.output
    assert "resources other systems wrote, imported: 1 (SUPP-- QNAM FHIRID" in pulled.output
    assert (
        "resources other systems wrote for the study's subjects that no dataset takes, left "
        "out: Condition 1"
    ) in pulled.output
    lb, _ = pyreadstat.read_xport(str(back / "lb.xpt"))
    assert len(lb) == len(before) + 1
    seq = int(before.loc[before.USUBJID == SUBJECT, "LBSEQ"].max()) + 1
    imported = lb[(lb.USUBJID == SUBJECT) & lb["LBSEQ"].eq(seq)].iloc[0]
    assert (imported.LBTESTCD, imported.LBTEST, imported.LBLOINC) == ("HGB", "Hemoglobin", "718-7")
    assert (imported.LBORRES, imported.LBORRESU, imported.LBDTC) == ("12.9", "g/dL", "2021-09-01")
    supp, _ = pyreadstat.read_xport(str(back / "supplb.xpt"))
    assert supp[["IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["11", "FHIRSTAT", "amended"],
        [str(seq), "FHIRID", "Observation/ehr-hb-1"],
    ]
