"""`trialbridge derive` on SDTM it did not produce: the CDISC pilot's DM, LB (chemistry), VS,
EX and design datasets with the derived variables taken out; what it fills must be what the
pilot's sponsor derived."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from tests.helpers import run_cli
from tests.pilot import source, write_pilot

TAKEN_OUT = {
    "lbch": ["LBDY", "VISITNUM", "EPOCH", "LBBLFL"],
    "vs": ["VSDY", "VISITNUM", "EPOCH", "VSBLFL"],
}


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_pilot(
        tmp_path_factory.mktemp("pilot"), ["dm", "lbch", "vs", "ex", "se", "sv", "tv"]
    )
    for name, columns in TAKEN_OUT.items():
        frame, meta = pyreadstat.read_xport(str(folder / f"{name}.xpt"))
        kept = frame.drop(columns=columns)
        pyreadstat.write_xport(
            kept,
            str(folder / f"{name}.xpt"),
            table_name=name.upper(),
            column_labels=[meta.column_names_to_labels[c] for c in kept],
            file_format_version=5,
        )
    return folder


@pytest.fixture(scope="module")
def derived(pilot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("derived") / "sdtm"
    result = run_cli("derive", pilot, "--out", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(("name", "prefix"), [("lbch", "LB"), ("vs", "VS")])
def test_study_days_and_visit_numbers_are_the_pilots(derived: Path, name: str, prefix: str) -> None:
    original = pd.read_parquet(source() / f"{name}.parquet")
    got, _ = pyreadstat.read_xport(str(derived / f"{name}.xpt"))
    assert len(got) == len(original) > 29000
    day = f"{prefix}DY"
    assert got[day].isna().sum() == original[day].isna().sum()
    assert np.array_equal(got[day].to_numpy(), original[day].to_numpy(), equal_nan=True)
    # the pilot's own VISITNUM carries binary noise (1.3000000000000003 for UNSCHEDULED 1.3)
    assert np.allclose(got["VISITNUM"], original["VISITNUM"], rtol=0, atol=1e-9)
    assert got["VISITNUM"].notna().all()


def test_filled_variables_take_their_sdtmig_places(derived: Path) -> None:
    _, meta = pyreadstat.read_xport(str(derived / "vs.xpt"), metadataonly=True)
    names = meta.column_names
    # VSLOBXFL after VSLOC (the last Record Qualifier the file has), VISITNUM before VISIT,
    # EPOCH after VISITDY, VSDY after VSDTC
    assert names[names.index("VSLOC") + 1] == "VSLOBXFL"
    assert names.index("VISITNUM") + 1 == names.index("VISIT")
    assert names.index("EPOCH") == names.index("VISITDY") + 1
    assert names.index("VSDY") == names.index("VSDTC") + 1


def test_the_summary_counts_what_was_filled_and_why_some_is_empty(
    pilot: Path, tmp_path: Path
) -> None:
    result = run_cli("derive", pilot, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [line.split() for line in lines[2:] if not line.startswith(("warning", "wrote"))]
    assert rows == [
        ["LBCH", "LBDY", "32740", "0"],
        ["LBCH", "VISITNUM", "32740", "0"],
        ["LBCH", "EPOCH", "31147", "1593"],
        ["LBCH", "LBLOBXFL", "4569", "28171"],
        ["VS", "VSDY", "29643", "0"],
        ["VS", "VISITNUM", "29643", "0"],
        ["VS", "EPOCH", "29643", "0"],
        ["VS", "VSLOBXFL", "2288", "27355"],
    ]
    warnings = [line for line in lines if line.startswith("warning:")]
    assert warnings == [
        "warning: LBCH.EPOCH is empty on 1593 records: the record has no complete date, or it "
        "is before the subject's first SE element"
    ]


def test_what_the_files_hold_is_not_changed(derived: Path, pilot: Path) -> None:
    before, _ = pyreadstat.read_xport(str(pilot / "dm.xpt"))
    after, _ = pyreadstat.read_xport(str(derived / "dm.xpt"))
    pd.testing.assert_frame_equal(before, after)


def test_a_folder_without_dm_is_refused(pilot: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vs.xpt").write_bytes((pilot / "vs.xpt").read_bytes())
    result = run_cli("derive", folder, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {folder}: there is no DM dataset: study days and baselines count from DM's "
        "reference dates; add dm.xpt (or dm.json) to the folder"
    )
    assert not (tmp_path / "out").exists()


def test_an_unknown_baseline_date_is_refused(pilot: Path, tmp_path: Path) -> None:
    result = run_cli("derive", pilot, "--out", tmp_path / "out", "--baseline-at", "RFICDTC")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: dm.xpt: DM has no RFICDTC, the date baselines are taken at; give the DM "
        "variable to use with --baseline-at"
    )


def test_the_last_observation_before_exposure_is_flagged(derived: Path) -> None:
    """Worked by hand from the pilot: subject 01-701-1239's first dose (RFXSTDTC) is
    2014-01-11; its albumin was taken on 2013-12-28 (SCREENING 1) and 2014-01-06 (UNSCHEDULED
    1.1), so the second is the last before exposure. The pilot's own LBBLFL sits on the
    screening visit instead: its sponsor's baseline is a scheduled visit, another definition."""
    got, _ = pyreadstat.read_xport(str(derived / "lbch.xpt"))
    albumin = got[(got["USUBJID"] == "01-701-1239") & (got["LBTESTCD"] == "ALB")]
    flagged = albumin.loc[albumin["LBLOBXFL"] == "Y", ["LBDTC", "VISIT"]].values.tolist()
    assert flagged == [["2014-01-06T09:00", "UNSCHEDULED 1.1"]]


def test_a_dataset_without_usubjid_is_refused(pilot: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("dm", "ex"):
        (folder / f"{name}.xpt").write_bytes((pilot / f"{name}.xpt").read_bytes())
    frame, meta = pyreadstat.read_xport(str(pilot / "vs.xpt"))
    kept = frame.drop(columns="USUBJID")
    pyreadstat.write_xport(
        kept,
        str(folder / "vs.xpt"),
        table_name="VS",
        column_labels=[meta.column_names_to_labels[c] for c in kept],
        file_format_version=5,
    )
    result = run_cli("derive", folder, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: vs.xpt: the dataset has no USUBJID, so its records cannot be tied to "
        "subjects; add USUBJID (or take the file out of the folder)"
    )


def test_visit_numbers_and_epochs_without_the_design_are_counted_not_added(
    pilot: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("dm", "vs"):
        (folder / f"{name}.xpt").write_bytes((pilot / f"{name}.xpt").read_bytes())
    result = run_cli("derive", folder, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: VS.VISITNUM is not added to its 29,643 records: the folder has neither SV "
        "nor TV to take visit numbers from",
        "warning: VS.EPOCH is not added to its 29,643 records: the folder has no SE to take "
        "the subjects' elements from",
    ]
    frame, _ = pyreadstat.read_xport(str(tmp_path / "out" / "vs.xpt"))
    assert "VISITNUM" not in frame and "EPOCH" not in frame and "VSDY" in frame
