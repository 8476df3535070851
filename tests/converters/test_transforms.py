"""Each transform of the mapping language, with hand-worked expected columns."""

import pandas as pd
import pytest

from trialbridge.converters.sources import COLUMN, FILE, ROW
from trialbridge.converters.transforms import EvalContext, evaluate, holds
from trialbridge.errors import UserError
from trialbridge.mappings.spec import Block, Condition
from trialbridge.sdtm.ct import shipped_terminology

TABLES = {
    "sites": pd.DataFrame({"SITE": ["01", "02"], "CITY": ["Tehran", "Shiraz"]}, dtype="str"),
}


def rows(**columns: list) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in columns.items()})
    frame[FILE] = "raw/form.csv"
    frame[ROW] = range(2, len(frame) + 2)
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    return frame


def run(expr: dict, frame: pd.DataFrame) -> list:
    block = Block.model_validate({"source": "s", "variables": {"X": expr}})
    ctx = EvalContext(ct=shipped_terminology(), table=TABLES.__getitem__, spec_where="x.yaml:3")
    values = evaluate(block.variables["X"], frame, ctx)
    return [None if pd.isna(v) else v for v in values]


def test_copy_keeps_values_and_missing():
    assert run({"copy": "A"}, rows(A=["x", None])) == ["x", None]


def test_constant_fills_every_row():
    assert run({"constant": 7}, rows(A=["x", None])) == ["7", "7"]


def test_recode_by_map_then_codelist_synonym_and_case():
    frame = rows(U=["pg/mL", "G/DL", "mg", None, "x"])
    expr = {"recode": {"column": "U", "map": {"x": "mmol/L"}, "codelist": "UNIT"}}
    assert run(expr, frame) == ["ng/L", "g/dL", "mg", None, "mmol/L"]


def test_recode_unmapped_value_names_value_file_row_and_column():
    frame = rows(SEX=["1", "2", "3"])
    expr = {"recode": {"column": "SEX", "map": {"1": "M", "2": "F"}, "codelist": "SEX"}}
    with pytest.raises(UserError) as err:
        run(expr, frame)
    assert err.value.line() == (
        "raw/form.csv, row 4, column SEX: value '3' has no mapping in the recode map or "
        "codelist SEX; add it to the recode map (x.yaml:3)"
    )


def test_date_assembles_iso_with_time():
    frame = rows(D=["12/06/2021", "UN/06/2021"], T=["09:05", "10:00"])
    expr = {"date": {"column": "D", "format": "dd/mm/yyyy", "time": "T"}}
    assert run(expr, frame) == ["2021-06-12T09:05", "2021-06"]


def test_date_impossible_value_is_an_error_at_its_row():
    frame = rows(D=["12/06/2021", "30/02/2021"])
    with pytest.raises(UserError, match=r"row 3, column D: '30/02/2021' is not a valid date"):
        run({"date": {"column": "D", "format": "dd/mm/yyyy"}}, frame)


def test_concat_skips_missing_parts_with_their_separator():
    frame = rows(A=["a", None, "a", None], B=["b", "b", None, None])
    expr = {"concat": {"parts": [{"copy": "A"}, {"copy": "B"}], "separator": "-"}}
    assert run(expr, frame) == ["a-b", "b", "a", None]


def test_lookup_by_key():
    frame = rows(S=["02", "01", "09"])
    expr = {"lookup": {"table": "sites", "by": {"S": "SITE"}, "value": "CITY"}}
    assert run(expr, frame) == ["Shiraz", "Tehran", None]


def test_when_takes_the_first_true_case_else_default():
    frame = rows(A=["1", "2", "3", None])
    expr = {
        "when": {
            "cases": [
                {"if": {"column": "A", "equals": "1"}, "then": {"constant": "one"}},
                {"if": {"column": "A", "in": ["1", "2"]}, "then": {"constant": "low"}},
            ],
            "else": {"copy": "A"},
        }
    }
    assert run(expr, frame) == ["one", "low", "3", None]


def test_conditions_all_any_missing_not_equals():
    frame = rows(A=["1", "2", None], B=["x", None, "x"])
    cond = Condition.model_validate(
        {
            "any": [
                {"all": [{"column": "A", "equals": "1"}, {"column": "B", "missing": False}]},
                {"column": "A", "missing": True},
            ]
        }
    )
    assert holds(cond, frame).tolist() == [True, False, True]
    assert holds(Condition.model_validate({"column": "A", "not_equals": "1"}), frame).tolist() == [
        False,
        True,
        True,
    ]


def test_a_condition_needs_exactly_one_test():
    with pytest.raises(ValueError, match="exactly one of"):
        Condition.model_validate({"column": "A", "equals": "1", "missing": True})
