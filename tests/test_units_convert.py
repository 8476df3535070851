"""End to end: `trialbridge convert` puts F and LB results into C and kg through UCUM alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.helpers import copy_study, replace_in, run_cli


def test_fahrenheit_and_pounds_reach_the_standard_units(tmp_path: Path):
    study = copy_study(tmp_path)
    spec = study / "mappings/vs.yaml"
    replace_in(spec, "domain: VS\n", "domain: VS\nstandard_units: {TEMP: C, WEIGHT: kg}\n")
    replace_in(spec, "VSTEST: Temperature, VSORRESU: C}", "VSTEST: Temperature, VSORRESU: F}")
    replace_in(spec, "VSTEST: Weight, VSORRESU: kg}", "VSTEST: Weight, VSORRESU: LB}")
    raw = study / "raw/vitals.csv"
    vitals = pd.read_csv(raw, dtype=str, keep_default_na=False)
    vitals["Temperature (C)"] = "98.6"
    vitals["Weight (kg)"] = "150"
    vitals.to_csv(raw, index=False)
    assert "unit_conversions" not in (study / "study.yaml").read_text()

    result = run_cli("convert", study, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    vs, _ = pyreadstat.read_xport(tmp_path / "out/sdtm/vs.xpt")
    temp = vs[vs["VSTESTCD"] == "TEMP"]
    weight = vs[vs["VSTESTCD"] == "WEIGHT"]
    assert len(temp) and len(weight)
    # (98.6 - 32) x 5/9 = 37; 150 x 0.45359237 = 68.0388555
    assert set(temp["VSSTRESN"]) == {37.0} and set(temp["VSSTRESC"]) == {"37"}
    assert set(temp["VSSTRESU"]) == {"C"} and set(temp["VSORRESU"]) == {"F"}
    assert weight["VSSTRESN"].tolist() == pytest.approx([68.0388555] * len(weight), abs=1e-9)
    assert set(weight["VSSTRESC"]) == {"68.0388555"} and set(weight["VSSTRESU"]) == {"kg"}
