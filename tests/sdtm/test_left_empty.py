"""Variables a run leaves empty are counted and explained: a derived one empty on some
records (the derivation's reason), an Expected one empty on every record. The cases edit a
copy of the bundled study; the counts are read off the edit and the raw files."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from tests.helpers import copy_study, replace_in, run_cli
from trialbridge.sdtm.dataset import finalize
from trialbridge.sdtm.left_empty import EXPECTED, NO_SOURCE_VALUE, LeftEmpty, left_empty
from trialbridge.sdtm.metadata import domain_meta

AGE_WHY = (
    "the subject has no complete birth date or no complete date AGE is taken at (study.yaml 'age')"
)


def _dm(**columns: list[object]) -> dict:
    frame = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["1", "2", "3"], **columns})
    return {"DM": finalize("DM", domain_meta("DM"), frame)}


def test_a_derived_variable_empty_on_some_records_gets_its_reason() -> None:
    datasets = _dm(AGE=[40.0, None, 51.0], AGEU=["YEARS", None, "YEARS"])
    found = [g for g in left_empty(datasets, {"DM": set()}) if g.variable == "AGE"]
    assert found == [LeftEmpty("DM", "AGE", 1, 3, AGE_WHY)]
    assert found[0].line() == f"DM.AGE is empty on 1 of 3 records: {AGE_WHY}"


def test_a_collected_variable_is_not_explained_as_derived() -> None:
    """AGE mapped from the source and empty for one subject is the source's gap, not the
    derivation's (and AGE is Expected, so only an AGE empty everywhere is reported)."""
    datasets = _dm(AGE=[40.0, None, 51.0])
    assert [g for g in left_empty(datasets, {"DM": {"AGE"}}) if g.variable == "AGE"] == []
    datasets = _dm(AGE=[None, None, None])
    found = [g for g in left_empty(datasets, {"DM": {"AGE"}}) if g.variable == "AGE"]
    assert found == [LeftEmpty("DM", "AGE", 3, 3, NO_SOURCE_VALUE)]


def test_expected_variables_empty_everywhere_and_answers_that_are_empty() -> None:
    """RACE (Expected in SDTMIG 3.4) unmapped is reported; DTHFL and ARMNRS empty say 'did
    not die' and 'assigned and treated', so they are not; SITEID is Required, which the
    validator's checks own."""
    found = {g.variable: g.why for g in left_empty(_dm(), {"DM": set()})}
    assert found["RACE"] == EXPECTED
    assert "DTHFL" not in found and "ARMNRS" not in found
    assert "SITEID" not in found


def test_convert_warns_of_an_age_a_partial_birth_date_leaves_empty(tmp_path: Path) -> None:
    study = copy_study(tmp_path)
    replace_in(study / "raw" / "demographics.csv", "14/03/1983", "UN/UN/1983")
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out)
    assert result.exit_code == 0, result.output
    warning = f"warning: DM.AGE is empty on 1 of 5 records: {AGE_WHY}"
    assert warning in result.output.splitlines()
    with (out / "reconciliation.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["source"] == "(left empty)"]
    age = [r for r in rows if r["notes"].startswith("DM.AGE ")]
    assert [(a["domain"], a["records"]) for a in age] == [("DM", "1")]
    summary = next(line for line in result.output.splitlines() if line.startswith("reconciliation"))
    assert f"; {len(rows)} variables left empty on some records (warnings)" in summary


def test_the_bundled_studys_gaps_are_the_raw_files_gaps(tmp_path: Path) -> None:
    """CMSTDY and CMENDY are empty exactly where conmeds.csv has a partial or blank date (the
    csv module counts them); every PLMSC subject has a complete RFSTDTC."""
    with (copy_study(tmp_path) / "raw" / "conmeds.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    complete = re.compile(r"^\d{2}/\d{2}/\d{4}$")
    partial_start = sum(not complete.match(r["Start date"]) for r in rows)
    no_end = sum(not complete.match(r["End date"]) for r in rows)
    result = run_cli("convert", tmp_path / "study", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (partial_start, no_end, len(rows)) == (4, 5, 7)
    assert (
        f"warning: CM.CMSTDY is empty on {partial_start} of {len(rows)} records: the record's "
        "start date is partial or missing, or the subject has no complete RFSTDTC"
    ) in lines
    assert (
        f"warning: CM.CMENDY is empty on {no_end} of {len(rows)} records: the record's end "
        "date is partial or missing, or the subject has no complete RFSTDTC"
    ) in lines
