"""Every writing command, killed at random moments over an earlier output, leaves that
output or its own complete one (the FHIR pull is in tests/fhir/server/test_kill_pull.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import copy_study, replace_in, run_cli
from tests.kill import check_kills

KILLS = 8


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled study converted (A), and a variant (B: another title, an AE term reworded),
    each as convert's full output (sdtm/, fhir/, validation/)."""
    root = tmp_path_factory.mktemp("two-studies")
    a = copy_study(root / "a")
    b = copy_study(root / "b")
    replace_in(b / "study.yaml", "short_title: PLMSC in SPMS, phase 1", "short_title: Variant B")
    replace_in(b / "raw/adverse_events.csv", "mild headache after infusion", "headache")
    for name, study in (("a-out", a), ("b-out", b)):
        result = run_cli("convert", study, "--out", root / name, "--format", "xpt,fhir")
        assert result.exit_code == 0, result.output
    return root / "a-out", root / "b-out"


def test_convert_killed_anywhere(two_studies: tuple[Path, Path], tmp_path: Path):
    a_out, b_out = two_studies
    study_b = b_out.parent / "b" / "study"
    found = check_kills(
        tmp_path / "out",
        a_out,
        ["convert", study_b, "--out", tmp_path / "out", "--format", "xpt,json,fhir"],
        KILLS,
        seed=1,
    )
    assert found["earlier"] and found["new"], found  # the kills fell on both sides


def test_fhir_build_killed_anywhere(two_studies: tuple[Path, Path], tmp_path: Path):
    a_out, b_out = two_studies
    found = check_kills(
        tmp_path / "fhir",
        a_out / "fhir",
        ["fhir", "build", b_out / "sdtm", "--out", tmp_path / "fhir", "--bundle-size", "50"],
        KILLS,
        seed=2,
    )
    assert found["earlier"] and found["new"], found


def test_fhir_to_sdtm_killed_anywhere(two_studies: tuple[Path, Path], tmp_path: Path):
    a_out, b_out = two_studies
    found = check_kills(
        tmp_path / "sdtm",
        a_out / "sdtm",
        ["fhir", "to-sdtm", b_out / "fhir", "--out", tmp_path / "sdtm"],
        KILLS,
        seed=3,
    )
    assert found["earlier"] and found["new"], found


def test_validate_killed_anywhere(two_studies: tuple[Path, Path], tmp_path: Path):
    a_out, b_out = two_studies
    found = check_kills(
        tmp_path / "report",
        a_out / "validation",
        ["validate", b_out / "sdtm", "--out", tmp_path / "report"],
        KILLS,
        seed=4,
    )
    assert found["earlier"] and found["new"], found


def test_user_files_beside_the_output_survive_a_run(two_studies: tuple[Path, Path], tmp_path: Path):
    """What is not the command's own stays: a note a colleague left in OUT, as it was."""
    a_out, b_out = two_studies
    out = tmp_path / "out"
    shutil.copytree(a_out, out)
    (out / "notes").mkdir()
    (out / "notes" / "review.txt").write_text("checked by JS")
    result = run_cli("fhir", "to-sdtm", b_out / "fhir", "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "notes" / "review.txt").read_text() == "checked by JS"
    assert (out / "sdtm").is_dir() and (out / "fhir").is_dir()
