"""--STRESC/N/U: unit conversion driven by the conversion table, not by code."""

import pandas as pd
import pytest

from tests.helpers import mapped
from trialbridge.errors import KEEP_PER_KIND, UserError, UserErrors, collecting
from trialbridge.sdtm.derivations import standard_results
from trialbridge.sdtm.units import Conversions
from trialbridge.study import UnitConversion


def lab(rows: list[dict], units: dict) -> pd.DataFrame:
    lb = mapped("LB", rows, standard_units=units)
    extra = [
        UnitConversion.model_validate(
            {"from": "mg/dL", "to": "mmol/L", "factor": 0.0555, "test": "GLUC"}
        )
    ]
    lb.update(standard_results.derive(lb, Conversions.load(extra)))
    return lb.frame


def test_conversion_to_the_standard_unit_per_test():
    frame = lab(
        [
            {
                "LBTESTCD": "HGB",
                "LBORRES": "13.1",
                "LBORRESU": "g/dL",
                "LBORNRLO": "12.0",
                "LBORNRHI": "17.5",
            },
            {
                "LBTESTCD": "WBC",
                "LBORRES": "6.2",
                "LBORRESU": "10^9/L",
                "LBORNRLO": "4.0",
                "LBORNRHI": "11.0",
            },
            {
                "LBTESTCD": "CD20",
                "LBORRES": "<0.5",
                "LBORRESU": "%",
                "LBORNRLO": None,
                "LBORNRHI": None,
            },
        ],
        {"HGB": "g/L"},
    )
    assert frame["LBSTRESN"].tolist()[:2] == [131.0, 6.2]
    assert pd.isna(frame["LBSTRESN"].iloc[2])
    assert frame["LBSTRESC"].tolist() == ["131", "6.2", "<0.5"]
    assert frame["LBSTRESU"].tolist() == ["g/L", "10^9/L", "%"]
    assert frame["LBSTNRLO"].tolist()[:2] == [120.0, 4.0]
    assert frame["LBSTNRHI"].tolist()[:2] == [175.0, 11.0]


def test_binary_noise_is_rounded_away():
    # 95 mg/dL x 0.01 is 0.9500000000000001 in binary floating point
    frame = lab([{"LBTESTCD": "GLUCX", "LBORRES": "95", "LBORRESU": "mg/dL"}], {"GLUCX": "g/L"})
    assert frame["LBSTRESN"].iloc[0] == 0.95
    assert frame["LBSTRESC"].iloc[0] == "0.95"


def test_a_study_conversion_for_one_test():
    frame = lab([{"LBTESTCD": "GLUC", "LBORRES": "95", "LBORRESU": "mg/dL"}], {"GLUC": "mmol/L"})
    assert frame["LBSTRESN"].iloc[0] == pytest.approx(5.2725, abs=0)
    assert frame["LBSTRESC"].iloc[0] == "5.2725"


def test_ucum_converts_what_no_table_row_covers():
    frame = lab(
        [
            {
                "LBTESTCD": "CREAT",
                "LBORRES": "1.0",
                "LBORRESU": "mg/dL",
                "LBORNRLO": "0.6",
                "LBORNRHI": "1.2",
            }
        ],
        {"CREAT": "umol/L"},
    )
    # 10 mg/L / 113.12 g/mol = 88.4017 umol/L; the range 53.0410 to 106.082
    assert frame["LBSTRESN"].iloc[0] == pytest.approx(88.4016973126, abs=1e-9)
    assert frame["LBSTRESC"].iloc[0] == "88.4016973126"
    assert frame["LBSTNRLO"].iloc[0] == pytest.approx(6000 / 113.12, rel=1e-11)
    assert frame["LBSTNRHI"].iloc[0] == pytest.approx(12000 / 113.12, rel=1e-11)


def test_a_temperature_and_its_range_convert_with_an_offset():
    rows = [{"VSTESTCD": "TEMP", "VSORRES": "98.6", "VSORRESU": "F"}]
    vs = mapped("VS", rows, standard_units={"TEMP": "C"})
    vs.update(standard_results.derive(vs, Conversions.load([])))
    assert vs.frame["VSSTRESN"].iloc[0] == 37.0
    assert vs.frame["VSSTRESC"].iloc[0] == "37"
    assert vs.frame["VSSTRESU"].iloc[0] == "C"


def test_a_missing_conversion_is_an_error_at_the_row():
    with pytest.raises(UserError) as err:
        lab([{"LBTESTCD": "XYZ", "LBORRES": "1.1", "LBORRESU": "mg/dL"}], {"XYZ": "umol/L"})
    assert err.value.line() == (
        "raw/test.csv, row 2: no conversion from mg/dL to umol/L for XYZ: mass and amount of "
        "substance convert only with a molecular weight of XYZ; add 'molecular_weights: {XYZ: "
        "g/mol}' to study.yaml, or a unit_conversions row"
    )


def test_an_annotated_unit_in_the_error_line_is_shown_as_written():
    with pytest.raises(UserError) as err:
        lab([{"LBTESTCD": "HR", "LBORRES": "70", "LBORRESU": "beats/min"}], {"HR": "breaths/min"})
    assert err.value.line() == (
        "raw/test.csv, row 2: no conversion from beats/min to breaths/min for HR: beats/min and "
        "breaths/min differ in arbitrary units or annotations ({beats}, {breaths}), which "
        "convert only to themselves; add the factor to unit_conversions in study.yaml if the "
        "two units are known to relate"
    )


def test_records_of_many_units_without_a_conversion_are_all_counted():
    """Past KEEP_PER_KIND (unit, standard unit, test) groups, the rest are reported together:
    each group was a pass over the whole frame (100,000 distinct units: minutes)."""
    rows = [
        {"LBTESTCD": "HGB", "LBORRES": "13", "LBORRESU": f"u{n}"} for n in range(KEEP_PER_KIND + 5)
    ]
    with pytest.raises(UserErrors) as err, collecting():
        lab(rows, {"HGB": "g/L"})
    problems = err.value.problems
    assert problems.total == KEEP_PER_KIND + 5
    lines = [e.line() for e in problems.kept]
    assert lines[0] == (
        "raw/test.csv, row 2: no conversion from u0 to g/L for HGB: u0 is neither a CDISC unit "
        "with a UCUM code nor a UCUM code; add the factor to unit_conversions in study.yaml"
    )
    # u1 is UCUM: the unified atomic mass unit to the power 1
    assert lines[1] == (
        "raw/test.csv, row 3: no conversion from u1 to g/L for HGB: u1 is mass and g/L is mass "
        "per volume; check the standard unit in the spec, or add the factor to "
        "unit_conversions in study.yaml"
    )
    assert lines[KEEP_PER_KIND:] == [
        f"raw/test.csv, row {n + 2}: no conversion from u{n} to the standard unit of its test; "
        "add the factor to unit_conversions in study.yaml"
        for n in range(KEEP_PER_KIND, KEEP_PER_KIND + 5)
    ]


def test_a_text_result_that_needs_converting_is_an_error():
    with pytest.raises(UserError) as err:
        lab([{"LBTESTCD": "HGB", "LBORRES": "<10", "LBORRESU": "g/dL"}], {"HGB": "g/L"})
    assert err.value.line() == (
        "raw/test.csv, row 2, column LBORRES: LBORRES '<10' is not a number, so it cannot be "
        "converted to the standard unit; record a number, or leave this test in its original unit"
    )


def test_a_standard_unit_for_an_unknown_test_is_an_error():
    with pytest.raises(UserError, match="standard_units names HBG, which no LB record has"):
        lab([{"LBTESTCD": "HGB", "LBORRES": "13", "LBORRESU": "g/dL"}], {"HBG": "g/L"})


def test_a_missing_original_unit_is_named():
    with pytest.raises(UserError, match="LBORRESU is missing for a HGB result"):
        lab([{"LBTESTCD": "HGB", "LBORRES": "13", "LBORRESU": None}], {"HGB": "g/L"})


def test_tiny_results_are_not_written_in_exponent_notation():
    frame = lab([{"LBTESTCD": "X", "LBORRES": "0.00001", "LBORRESU": "g/L"}], {})
    assert frame["LBSTRESC"].iloc[0] == "0.00001"
