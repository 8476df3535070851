"""trialbridge validate on a FHIR output folder: the PLMSC build gives the same SDTM findings
as its datasets and no FHIR finding; a broken resource is an Error under its FHIR key, named
with its SDTM lineage."""

import json
from pathlib import Path

import pytest

from tests.helpers import STUDY, run_cli
from trialbridge import api


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt", "fhir"))
    return out / "fhir"


def _report(out: Path) -> dict:
    return json.loads((out / "validation.json").read_text())


def test_the_plmsc_fhir_output_has_the_datasets_findings_only(fhir: Path, tmp_path: Path):
    result = run_cli("validate", fhir, "--out", tmp_path / "fhir")
    assert result.exit_code == 0, result.output
    # FHIR carries no define.xml, so the datasets are compared without theirs: the sponsor
    # terms it declares are TB0018 warnings on both sides
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in (fhir.parent / "sdtm").glob("*.xpt"):
        (bare / path.name).write_bytes(path.read_bytes())
    run_cli("validate", bare, "--out", tmp_path / "sdtm")
    from_fhir = _report(tmp_path / "fhir")["summary"]
    # less the folder's own finding: it has no define.xml (TB0045), which a FHIR folder is not
    # expected to carry
    from_sdtm = [r for r in _report(tmp_path / "sdtm")["summary"] if r["rule"] != "TB0045"]
    assert (
        from_fhir
        == from_sdtm
        == [
            {
                "rule": "TB0018",
                "severity": "Warning",
                "count": 293,
                "message": from_sdtm[0]["message"],
            }
        ]
    )


def test_a_broken_observation_is_an_error_with_its_lineage(fhir: Path, tmp_path: Path):
    folder = tmp_path / "fhir"
    (folder / "ndjson").mkdir(parents=True)
    for path in (fhir / "ndjson").glob("*.ndjson"):
        lines = path.read_text().split("\n")
        if path.stem == "Observation":
            first = json.loads(lines[0])
            del first["status"]
            lines[0] = json.dumps(first)
        (folder / "ndjson" / path.name).write_text("\n".join(lines))
    result = run_cli("validate", folder, "--out", tmp_path / "out")
    assert result.exit_code == 1
    errors = [f for f in _report(tmp_path / "out")["findings"] if f["severity"] == "Error"]
    assert [(f["rule"], f["dataset"]) for f in errors] == [("FHIR:required", "Observation")]
    assert errors[0]["value"].endswith("(SDTM LB, raw/cytokines_flow.csv#row=2)")
    assert "status" in errors[0]["message"]
