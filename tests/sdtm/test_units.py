"""Unit conversions: study rows, the shipped table, then UCUM; every number worked by hand."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import ROOT
from trialbridge.sdtm import ucum
from trialbridge.sdtm.standards import rows as read_standard
from trialbridge.sdtm.units import Conversions, markdown_tables
from trialbridge.study import UnitConversion


def convert(
    value: float,
    unit: str,
    to: str,
    test: str = "X",
    rows: tuple[dict, ...] = (),
    weights: dict[str, float] | None = None,
) -> float:
    conversions = Conversions.load([UnitConversion.model_validate(r) for r in rows], weights)
    factor, offset = conversions.affine(pd.Series([unit]), pd.Series([to]), pd.Series([test]))
    return value * factor.iloc[0] + offset.iloc[0]


def refusal(unit: str, to: str, test: str = "X") -> tuple[str, str]:
    conversions = Conversions.load([])
    factor, _ = conversions.affine(pd.Series([unit]), pd.Series([to]), pd.Series([test]))
    assert factor.isna().all()
    return conversions.problem(unit, to, test)


@pytest.mark.parametrize(("fahrenheit", "celsius"), [(98.6, 37), (32, 0), (212, 100), (-40, -40)])
def test_fahrenheit_to_celsius_is_affine(fahrenheit: float, celsius: float):
    assert convert(fahrenheit, "F", "C", "TEMP") == pytest.approx(celsius, abs=1e-9)


def test_celsius_to_kelvin_and_back():
    assert convert(37, "C", "K") == pytest.approx(310.15, abs=1e-9)
    assert convert(310.15, "K", "C") == pytest.approx(37, abs=1e-9)


def test_pounds_to_kilograms():
    # the avoirdupois pound is 0.45359237 kg exactly: 150 x 0.45359237
    assert convert(150, "LB", "kg", "WEIGHT") == pytest.approx(68.0388555, abs=1e-9)


def test_glucose_mass_to_amount_by_its_molecular_weight():
    # 90 mg/dL = 900 mg/L; / 180.156 g/mol = 4.99567 mmol/L
    assert convert(90, "mg/dL", "mmol/L", "GLUC") == pytest.approx(90 * 10 / 180.156, rel=1e-12)
    assert convert(90, "mg/dL", "mmol/L", "GLUC") == pytest.approx(4.99567, abs=5e-6)


def test_creatinine_to_micro_and_millimoles():
    # 1.0 mg/dL = 10 mg/L; / 113.12 g/mol = 0.0884017 mmol/L = 88.4017 umol/L
    assert convert(1.0, "mg/dL", "umol/L", "CREAT") == pytest.approx(88.4017, abs=5e-5)
    assert convert(1.0, "mg/dL", "mmol/L", "CREAT") == pytest.approx(0.0884017, abs=5e-8)
    # and back: 88.4 umol/L x 113.12 g/mol = 9999.808 ug/L = 0.9999808 mg/dL
    assert convert(88.4, "umol/L", "mg/dL", "CREAT") == pytest.approx(0.9999808, abs=1e-9)


def test_urea_nitrogen_counts_two_nitrogen_atoms():
    # 14 mg/dL of urea nitrogen = 140 mg/L / 28.014 g/mol = 4.99750 mmol/L of urea
    assert convert(14, "mg/dL", "mmol/L", "UREAN") == pytest.approx(140 / 28.014, rel=1e-12)


def test_equivalents_use_the_valence():
    # calcium is 2+: 5 mEq/L = 2.5 mmol/L; sodium is 1+: 140 mEq/L = 140 mmol/L
    assert convert(5, "mEq/L", "mmol/L", "CA") == pytest.approx(2.5, abs=1e-12)
    assert convert(140, "mEq/L", "mmol/L", "SODIUM") == pytest.approx(140, abs=1e-9)
    # 10 mg/dL calcium = 100 mg/L / 40.078 = 2.49513 mmol/L = 4.99027 mEq/L
    assert convert(10, "mg/dL", "mEq/L", "CA") == pytest.approx(200 / 40.078, rel=1e-12)


def test_the_studys_molecular_weight_wins_over_the_shipped_one():
    assert convert(90, "mg/dL", "mmol/L", "GLUC", weights={"GLUC": 180}) == pytest.approx(5.0)
    assert convert(5, "mg/dL", "mmol/L", "XYZ", weights={"XYZ": 50}) == pytest.approx(1.0)


def test_a_study_row_wins_over_ucum_and_the_shipped_table():
    row = {"from": "mg/dL", "to": "mmol/L", "factor": 0.0555, "test": "GLUC"}
    assert convert(100, "mg/dL", "mmol/L", "GLUC", (row,)) == pytest.approx(5.55)
    # a study row for every test beats the shipped g/dL -> g/L row (10)
    generic = {"from": "g/dL", "to": "g/L", "factor": 10.5}
    assert convert(2, "g/dL", "g/L", "HGB", (generic,)) == pytest.approx(21)
    # and the study's row for one test beats its row for every test
    specific = {"from": "g/dL", "to": "g/L", "factor": 11, "test": "HGB"}
    assert convert(2, "g/dL", "g/L", "HGB", (generic, specific)) == pytest.approx(22)
    assert convert(2, "g/dL", "g/L", "ALB", (generic, specific)) == pytest.approx(21)


def test_same_arbitrary_unit_converts_by_its_prefixes():
    # 5 IU/L = 0.005 IU/mL; 4 U/L = 0.004 U/mL; 8 ug/L FEU = 0.008 mg/L FEU
    assert convert(5, "IU/L", "IU/mL") == pytest.approx(0.005)
    assert convert(4, "U/L", "U/mL") == pytest.approx(0.004)
    assert convert(8, "ug/L FEU", "mg/L FEU") == pytest.approx(0.008)
    # eGFR: 90 mL/min/1.73 m2 = 1.5 mL/s/1.73 m2
    assert convert(90, "mL/min/1.73 m2", "mL/s/1.73 m2") == pytest.approx(1.5)


def test_units_written_as_ucum_convert_too():
    assert convert(98.6, "[degF]", "Cel") == pytest.approx(37, abs=1e-9)
    assert convert(3, "10^3/uL", "10^9/L") == pytest.approx(3)


@pytest.mark.parametrize(
    ("value", "unit", "to", "outcome"),
    [
        # conversion cases in the manner of UCUM's functional tests, worked by hand
        (6.3, "mm", "m", 0.0063),
        (6.3, "s.mm-1", "s.m-1", 6300),
        (6.3, "s/m/mg", "s.m-1.g-1", 6300),
        (6.3, "s/m.mg", "s.m-1.g", 0.0063),  # read left to right: (s/m).mg
        (6.3, "4.s/m", "s/m", 25.2),
        (6.3, "s/4/m", "s/m", 1.575),
        (6.3, "[in_i]", "cm", 16.002),  # 2.54 cm per inch
        # UCUM: 133.322 kPa per meter of mercury; pint (so ucumvert) uses the conventional
        # 133.322387415 kPa: 2.9 parts per million more (docs/units.md)
        (1, "m[Hg]", "g.s-2.m-1", 133322387.415),
        (1.2, "g.m", "m.g", 1.2),
    ],
)
def test_ucum_functional_conversions(value: float, unit: str, to: str, outcome: float):
    assert convert(value, unit, to) == pytest.approx(outcome, rel=1e-9)


def test_a_reference_range_uses_the_same_map_as_the_result():
    conversions = Conversions.load([])
    unit = pd.Series(["F", "F"])
    factor, offset = conversions.affine(unit, pd.Series(["C", "C"]), pd.Series(["TEMP", "TEMP"]))
    # (97.0 - 32) x 5/9 = 36.1111; (99.5 - 32) x 5/9 = 37.5
    assert (pd.Series([97.0, 99.5]) * factor + offset).tolist() == pytest.approx([36.11111, 37.5])


def test_an_unknown_unit_is_refused():
    assert refusal("xyz", "kg") == (
        "no conversion from xyz to kg for X: xyz is neither a CDISC unit with a UCUM code nor a "
        "UCUM code",
        "add the factor to unit_conversions in study.yaml",
    )


def test_a_cdisc_unit_without_a_ucum_code_says_why():
    assert refusal("TABLET", "mg") == (
        "no conversion from TABLET to mg for X: the CDISC unit TABLET has no UCUM code (a count "
        "of doses or dose forms: no UCUM unit)",
        "add the factor to unit_conversions in study.yaml",
    )


def test_units_of_different_dimensions_are_refused_in_words():
    assert refusal("mg/dL", "kg", "ALB") == (
        "no conversion from mg/dL to kg for ALB: mg/dL is mass per volume and kg is mass",
        "check the standard unit in the spec, or add the factor to unit_conversions in study.yaml",
    )
    assert refusal("C", "mmHg")[0] == (
        "no conversion from C to mmHg for X: C is temperature and mmHg is mass per length per "
        "time^2"
    )


def test_mass_to_amount_without_a_molecular_weight_is_refused():
    assert refusal("mg/dL", "mmol/L", "XYZ") == (
        "no conversion from mg/dL to mmol/L for XYZ: mass and amount of substance convert only "
        "with a molecular weight of XYZ",
        "add 'molecular_weights: {XYZ: g/mol}' to study.yaml, or a unit_conversions row",
    )


def test_equivalents_without_a_valence_are_refused():
    assert refusal("mEq/L", "mmol/L", "PHOS") == (
        "no conversion from mEq/L to mmol/L for PHOS: equivalents and moles convert only with a "
        "valence of PHOS",
        "add the factor to unit_conversions in study.yaml (molecular_weights.csv gives the "
        "valence of the common ions)",
    )


@pytest.mark.parametrize(
    ("unit", "to", "odd"),
    [
        ("IU/L", "U/L", "U, [IU]"),
        ("U/L", "ukat/L", "U"),  # UCUM relates U to katal; CDISC's U is any unit
        ("beats/min", "/min", "{beats}"),
        ("IU/L", "ukat/L", "[IU]"),
    ],
)
def test_arbitrary_units_and_annotations_convert_only_to_themselves(unit, to, odd):
    assert refusal(unit, to) == (
        f"no conversion from {unit} to {to} for X: {unit} and {to} "
        f"differ in arbitrary units or annotations ({odd}), which convert only to themselves",
        "add the factor to unit_conversions in study.yaml if the two units are known to relate",
    )


def test_a_logarithmic_unit_is_refused():
    assert refusal("B", "Np")[0] == (
        "no conversion from B to Np for X: B to Np is not a linear conversion (a logarithmic unit)"
    )


def test_valid_ucum_the_library_cannot_size_is_refused():
    assert refusal("Cel/h", "[degF]/h")[0] == (
        "no conversion from Cel/h to [degF]/h for X: UCUM gives no conversion of Cel/h to [degF]/h"
    )


def test_cdisc_units_map_to_the_ucum_codes_worked_by_hand():
    codes = {r["cdisc"]: r["ucum"] for r in read_standard("cdisc_ucum.csv")}
    assert {k: codes[k] for k in ["C", "F", "LB", "mmHg", "beats/min", "10^9/L", "IU/L"]} == {
        "C": "Cel",
        "F": "[degF]",
        "LB": "[lb_av]",
        "mmHg": "mm[Hg]",
        "beats/min": "{beats}/min",
        "10^9/L": "10*9/L",
        "IU/L": "[IU]/L",
    }
    assert {k: codes[k] for k in ["mEq/L", "ug", "mg/kg/day", "in", "PA", "Coulomb"]} == {
        "mEq/L": "meq/L",
        "ug": "ug",
        "mg/kg/day": "mg/kg/d",
        "in": "[in_i]",
        "PA": "/a",
        "Coulomb": "C",
    }
    assert codes["TABLET"] == "" and codes["Torr"] == ""


def test_every_cdisc_unit_is_listed_once_and_every_ucum_code_parses():
    rows = read_standard("cdisc_ucum.csv")
    ct = Path(ROOT / "trialbridge/sdtm/standards/ct.tsv").read_text("utf-8").splitlines()
    units = {line.split("\t")[4] for line in ct if line.split("\t")[1] == "C71620"}
    assert [r["cdisc"] for r in rows] == sorted(units)
    engine = ucum.ucum()
    bad = [r["ucum"] for r in rows if r["ucum"] and engine.parse(r["ucum"]) is None]
    assert bad == []
    assert all(r["note"] for r in rows if not r["ucum"])


def test_ucum_sizes_of_a_handful_of_table_codes():
    # UCUM sizes worked by hand, in SI base units
    engine = ucum.ucum()
    sizes = {
        "[lb_av]": 0.45359237,  # kg
        "[in_i]": 0.0254,  # m
        "10*9/L": 1e12,  # per m3
        "mm[Hg]": 133.322387415,  # Pa, pint's conventional mmHg (UCUM: 133.322)
        "mg/kg/d": 1e-6 / 86400,  # per s
    }
    for code, size in sizes.items():
        base = engine.parse(code).quantity.to_base_units().magnitude
        assert base == pytest.approx(size, rel=1e-9), code


ATOMIC = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "Na": 22.990, "Mg": 24.305}
ATOMIC |= {"P": 30.974, "Cl": 35.45, "K": 39.098, "Ca": 40.078, "Fe": 55.845}


def formula_weight(formula: str) -> float:
    return sum(
        ATOMIC[atom] * int(count or 1) for atom, count in re.findall(r"([A-Z][a-z]?)(\d*)", formula)
    )


def test_molecular_weights_match_their_formulas():
    formulas = {
        "GLUC": "C6H12O6",
        "CREAT": "C4H7N3O",
        "CHOL": "C27H46O",
        "TRIG": "C57H104O6",
        "BILI": "C33H36N4O6",
        "URATE": "C5H4N4O3",
        "UREA": "CH4N2O",
        "UREAN": "N2",
        "BICARB": "HCO3",
        "CA": "Ca",
        "SODIUM": "Na",
        "CL": "Cl",
    }
    weights = {r["test"]: float(r["g_per_mol"]) for r in read_standard("molecular_weights.csv")}
    for test, formula in formulas.items():
        assert weights[test] == pytest.approx(formula_weight(formula), abs=0.001), test
    rows = read_standard("molecular_weights.csv")
    assert all(r["source"] and r["substance"] for r in rows)
    assert {r["test"]: r["valence"] for r in rows if r["valence"]} == {
        "BICARB": "1",
        "CA": "2",
        "CL": "1",
        "K": "1",
        "MG": "2",
        "SODIUM": "1",
    }


def test_the_shipped_rows_agree_with_ucum():
    """The table is a fast path (no UCUM load), never a different answer."""
    conversions = Conversions.load([])
    for row in read_standard("unit_conversions.csv"):
        unit, to = row["from"], row["to"]
        pairs = Conversions.load([])
        pairs.table = pairs.table.iloc[0:0]  # UCUM alone
        factor, offset = pairs.affine(pd.Series([unit]), pd.Series([to]), pd.Series(["X"]))
        assert factor.iloc[0] == pytest.approx(float(row["factor"]), rel=1e-12), row
        assert offset.iloc[0] == 0
    assert len(conversions.table) == len(read_standard("unit_conversions.csv"))


def test_the_docs_list_the_shipped_tables_as_they_are():
    text = (ROOT / "docs/units.md").read_text("utf-8")
    start = "<!-- tables: written by scripts/units_doc.py; do not edit by hand -->\n"
    body = text.split(start, 1)[1].split("<!-- end of tables -->", 1)[0]
    assert body == markdown_tables()


def test_table_conversions_do_not_load_ucum():
    """A study whose conversions are all same-unit or in a table never loads the parser."""
    code = (
        "import sys, pandas as pd\n"
        "from trialbridge.sdtm.units import Conversions\n"
        "c = Conversions.load([])\n"
        "u, to = pd.Series(['g/dL', 'kg']), pd.Series(['g/L', 'kg'])\n"
        "f, o = c.affine(u, to, pd.Series(['A', 'B']))\n"
        "assert f.tolist() == [10.0, 1.0], f.tolist()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ucumvert', 'pint', 'lark')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_table_csvs_are_well_formed():
    path = ROOT / "trialbridge/sdtm/standards/cdisc_ucum.csv"
    with path.open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == ["cdisc", "ucum", "note"]
