"""Push the PLMSC study to a real FHIR server and pull it back: the server round trip gives
identical SDTM, a second push changes no count, a refused resource is named with its lineage."""

import json
from pathlib import Path

import httpx
import pyreadstat
import pytest

from tests.fhir.server.sekmet import Sekmet, built, copy_of, rewrite_bundle
from tests.helpers import STUDY, run_cli
from trialbridge import api
from trialbridge.fhir.ids import patient_id
from trialbridge.roundtrip import compare
from trialbridge.sdtm.read import read_folder


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """convert's output: sdtm/ and fhir/ (resources carry their native source rows)."""
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt", "fhir"))
    return out


def test_push_then_pull_gives_back_the_same_sdtm(study: Path, server: Sekmet, tmp_path: Path):
    fhir = copy_of(study, tmp_path)
    result = run_cli("fhir", "push", fhir, "--server", server.base, "--workers", "3")
    assert result.exit_code == 0, result.output
    expected = built(fhir)
    assert f"created {sum(expected.values())}, updated 0, failed 0" in result.output
    assert {kind: server.count(kind) for kind in expected} == dict(expected)
    back = tmp_path / "back"
    result = run_cli(
        "fhir", "pull", "--server", server.base, "--study", "PLMSC-SPMS", "--out", back
    )
    assert result.exit_code == 0, result.output
    original, pulled = read_folder(study / "sdtm"), read_folder(back)
    assert sorted(pulled) == sorted(original)
    for name, dataset in original.items():
        compared = compare(dataset, pulled[name])
        assert compared.lossless, [d.line() for d in compared.differences[:3]]


def test_pushing_again_changes_no_count(study: Path, server: Sekmet, tmp_path: Path):
    fhir = copy_of(study, tmp_path)
    assert run_cli("fhir", "push", fhir, "--server", server.base).exit_code == 0
    expected = built(fhir)
    again = run_cli("fhir", "push", fhir, "--server", server.base)
    assert "bundles 0 sent, 7 already done" in again.output  # the checkpoint
    (fhir / ".push-checkpoint.json").unlink()
    forced = run_cli("fhir", "push", fhir, "--server", server.base)
    assert f"created 0, updated {sum(expected.values())}, failed 0" in forced.output
    assert {kind: server.count(kind) for kind in expected} == dict(expected)


def test_a_refused_resource_is_named_with_its_sdtm_record(
    study: Path, server: Sekmet, tmp_path: Path
):
    fhir = copy_of(study, tmp_path)
    path = fhir / "bundles" / "bundle-0005.json"
    bundle = json.loads(path.read_text())
    entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "AdverseEvent")
    entry["resource"]["date"] = "21/06/2021"  # not a FHIR dateTime: the server refuses it
    rewrite_bundle(fhir, path.name, bundle)
    result = run_cli("fhir", "push", fhir, "--server", server.base)
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("  refused:")]
    assert line.startswith(f"  refused: AdverseEvent/{entry['resource']['id']}: ")
    assert line.endswith("(SDTM AE record 1, raw/adverse_events.csv#row=2)")
    assert "failed 1" in result.output
    total = sum(built(fhir).values())
    assert sum(server.count(k) for k in built(fhir)) == total - 1  # the rest arrived


def test_fail_fast_stops_at_the_first_refusal(study: Path, server: Sekmet, tmp_path: Path):
    fhir = copy_of(study, tmp_path)
    path = fhir / "bundles" / "bundle-0001.json"  # wave 0: Patients
    bundle = json.loads(path.read_text())
    bundle["entry"][0]["resource"]["birthDate"] = "14/03/1983"
    rewrite_bundle(fhir, path.name, bundle)
    result = run_cli("fhir", "push", fhir, "--server", server.base, "--fail-fast")
    assert result.exit_code == 1
    assert "bundles 1 sent" in result.output  # the later waves were not sent
    assert server.count("Observation") == 0


def test_a_folder_without_bundles_is_a_clear_error(tmp_path: Path):
    result = run_cli("fhir", "push", tmp_path, "--server", "http://127.0.0.1:9/fhir")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"error: {tmp_path}: no bundles/manifest.json; "
        "build the bundles with trialbridge fhir build"
    )


def test_a_visits_observations_are_found_by_its_encounter(
    study: Path, server: Sekmet, tmp_path: Path
):
    """Observation?encounter= finds a visit's findings: subject 001's screening (SV VISITNUM
    1), counted from the XPT files by pyreadstat, and its blood pressure panel."""
    fhir = copy_of(study, tmp_path)
    assert run_cli("fhir", "push", fhir, "--server", server.base).exit_code == 0
    subject = "PLMSC-SPMS-01-001"
    expected = 0
    for name in ("lb", "vs", "qs", "ft", "nv"):
        data, _ = pyreadstat.read_xport(str(study / "sdtm" / f"{name}.xpt"))
        expected += int(((subject == data.USUBJID) & (data.VISITNUM == 1)).sum())
        if name == "vs":  # the visit's blood pressure panel (a systolic and a diastolic result)
            visit = data[(subject == data.USUBJID) & (data.VISITNUM == 1)]
            expected += int({"SYSBP", "DIABP"} <= set(visit.VSTESTCD))
    encounters = [
        json.loads(line) for line in (fhir / "ndjson" / "Encounter.ndjson").read_text().splitlines()
    ]
    patient = f"Patient/{patient_id('PLMSC-SPMS', subject)}"
    (visit,) = [
        e
        for e in encounters
        if e["subject"]["reference"] == patient and e["identifier"][0]["value"] == "1"
    ]
    response = httpx.get(
        f"{server.base}/Observation",
        params={"encounter": f"Encounter/{visit['id']}", "_summary": "count"},
        verify=server.ca,
        timeout=30,
    )
    response.raise_for_status()
    assert expected > 10 and response.json()["total"] == expected
