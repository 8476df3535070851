"""The CDISC pilot study SDTM (real data trialbridge did not produce): every dataset goes to
FHIR and back unchanged, and a sample of what it builds passes the independent R4B models."""

import importlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import run_cli
from tests.pilot import source, write_pilot
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.ids import patient_id
from trialbridge.sdtm.read import read_folder


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pilot(tmp_path_factory.mktemp("pilot"))


def test_every_pilot_dataset_round_trips_losslessly(pilot: Path):
    result = run_cli("roundtrip", pilot, "--gaps")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == "lossless: 31 domains"
    assert "not converted" not in result.output
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:33]}
    # records and variables as the pilot has them (dm.parquet: 306 x 25, lbch: 32740 x 24)
    assert rows["DM"] == ["306", "25", "18", "0"]
    assert rows["LBCH"][:2] == ["32740", "24"]
    assert rows["RELREC"][:2] == ["211", "7"]
    # MedDRA levels, MHSPID: standard elements now
    assert "  MH: MHSEQ VISITNUM VISIT VISITDY MHDY" in lines


def test_a_sample_of_pilot_resources_passes_the_r4b_models(pilot: Path):
    datasets = read_folder(write_pilot(pilot.parent / "sample", ["dm", "ae", "lbch", "mh", "ds"]))
    resources = assemble(datasets).resources()
    seen: dict[str, int] = {}
    for resource in resources:
        kind = resource["resourceType"]
        if seen.get(kind, 0) >= 200:
            continue
        seen[kind] = seen.get(kind, 0) + 1
        model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
        model.model_validate(json.loads(json.dumps(resource)))
    assert set(seen) == {
        "Patient",
        "AdverseEvent",
        "Observation",
        "Condition",
        "ResearchSubject",
        "Basic",
        "Group",
    }


def test_pilot_subjects_name_their_subjid_and_only_the_studys_arms(pilot: Path):
    """dm.parquet (read by pyarrow here): 52 subjects with ARMCD Scrnfail, which TA does not
    list, each with a DS disposition SCREEN FAILURE; the others are in Pbo, Xan_Lo, Xan_Hi."""
    datasets = read_folder(write_pilot(pilot.parent / "arms", ["dm", "ds", "ta"]))
    subjects = [r for r in assemble(datasets).resources() if r["resourceType"] == "ResearchSubject"]
    dm = pq.read_table(source() / "dm.parquet").to_pandas()
    assert len(subjects) == len(dm) == 306
    by_id = {f"Patient/{patient_id(str(r.STUDYID), r.USUBJID)}": r for r in dm.itertuples()}
    failed = [s for s in subjects if by_id[s["individual"]["reference"]].ARMCD == "Scrnfail"]
    assert len(failed) == 52
    assert {s["status"] for s in failed} == {"ineligible"}
    assert not any("assignedArm" in s or "actualArm" in s for s in failed)
    arms = {s["assignedArm"] for s in subjects if s not in failed}
    assert arms == {"Pbo", "Xan_Lo", "Xan_Hi"}
    for subject in subjects:
        row = by_id[subject["individual"]["reference"]]
        assert subject["identifier"] == [
            {"system": "https://trialbridge.org/fhir/NamingSystem/subjid", "value": row.SUBJID}
        ]
