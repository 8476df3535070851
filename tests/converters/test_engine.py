"""The engine on small study folders: melt, joins, where, lookups into built domains."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from trialbridge.converters.engine import SUBJECT, Mapper
from trialbridge.errors import UserError
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.study import load_study

STUDY = {
    "studyid": "T1",
    "title": "t",
    "sponsor": "s",
    "phase": "PHASE I TRIAL",
    "sites": [{"siteid": "01", "country": "IRN"}],
    "visits": [{"visitnum": 1, "visit": "SCREENING", "day": -7}],
    "sources": [
        {"name": "dem", "file": "dem.csv"},
        {"name": "labs", "file": "labs.csv"},
        {"name": "units", "file": "units.csv"},
    ],
    "domains": ["dm.yaml", "lb.yaml"],
}
DM = {
    "domain": "DM",
    "sources": [
        {
            "source": "dem",
            "subject": "ID",
            "variables": {"SITEID": {"constant": "01"}, "SEX": {"copy": "SEX"}},
        }
    ],
}


def folder(tmp_path: Path, lb: dict, dm: dict | None = None) -> Path:
    (tmp_path / "mappings").mkdir()
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(STUDY))
    (tmp_path / "mappings/dm.yaml").write_text(yaml.safe_dump(dm or DM))
    (tmp_path / "mappings/lb.yaml").write_text(yaml.safe_dump(lb))
    (tmp_path / "dem.csv").write_text("ID,SEX\n001,F\n002,M\n")
    (tmp_path / "labs.csv").write_text("ID,DONE,HGB,WBC\n001,Y,13.1,6.2\n001,N,,\n002,Y,,7.0\n")
    (tmp_path / "units.csv").write_text("TEST,UNIT\nHGB,g/dL\nWBC,10^9/L\n")
    return tmp_path


def run(path: Path) -> dict:
    return Mapper(load_study(path), shipped_terminology()).run()


LB = {
    "domain": "LB",
    "sources": [
        {
            "source": "labs",
            "subject": "ID",
            "where": {"column": "DONE", "equals": "Y"},
            "melt": {
                "value": "RES",
                "columns": {
                    "HGB": {"LBTESTCD": "HGB", "LBTEST": "Hemoglobin"},
                    "WBC": {"LBTESTCD": "WBC", "LBTEST": "Leukocytes"},
                },
            },
            "variables": {
                "LBORRES": {"copy": "RES"},
                "LBORRESU": {
                    "lookup": {"table": "units", "by": {"__column": "TEST"}, "value": "UNIT"}
                },
                "LBSPEC": {"lookup": {"table": "DM", "by": {"ID": SUBJECT}, "value": "SEX"}},
            },
        }
    ],
}


def test_melt_where_and_lookups(tmp_path: Path):
    lb = run(folder(tmp_path, LB))["LB"].frame
    # row 3 (DONE=N) is filtered out; missing HGB of subject 002 is dropped by the melt
    assert lb[[SUBJECT, "LBTESTCD", "LBORRES", "LBORRESU", "LBSPEC"]].values.tolist() == [
        ["001", "HGB", "13.1", "g/dL", "F"],
        ["001", "WBC", "6.2", "10^9/L", "F"],
        ["002", "WBC", "7.0", "10^9/L", "M"],
    ]
    # lineage: file, row and melted column of each record
    assert lb[["__file", "__row", "__column"]].values.tolist() == [
        ["labs.csv", 2, "HGB"],
        ["labs.csv", 2, "WBC"],
        ["labs.csv", 4, "WBC"],
    ]


def test_keep_missing_keeps_empty_cells(tmp_path: Path):
    spec = yaml.safe_load(yaml.safe_dump(LB))
    spec["sources"][0]["melt"]["keep_missing"] = True
    lb = run(folder(tmp_path, spec))["LB"].frame
    assert len(lb) == 4 and lb["LBORRES"].isna().sum() == 1


def test_joins_bring_columns_by_key(tmp_path: Path):
    dm = yaml.safe_load(yaml.safe_dump(DM))
    dm["sources"][0]["joins"] = [
        {"table": "labs", "by": {"ID": "ID"}, "columns": {"HGB": "FIRST_HGB"}}
    ]
    dm["sources"][0]["variables"]["DMDTC"] = {"copy": "FIRST_HGB"}
    with pytest.raises(UserError, match="join with 'labs' is ambiguous"):
        run(folder(tmp_path, LB, dm))


def test_unknown_table_column_in_a_join(tmp_path: Path):
    dm = yaml.safe_load(yaml.safe_dump(DM))
    dm["sources"][0]["joins"] = [{"table": "units", "by": {"ID": "TEST"}, "columns": {"X": "Y"}}]
    with pytest.raises(UserError, match="no column X in 'units'"):
        run(folder(tmp_path, LB, dm))


def test_numeric_variable_with_text_is_an_error_at_its_row(tmp_path: Path):
    spec = yaml.safe_load(yaml.safe_dump(LB))
    spec["sources"][0]["variables"]["LBSTRESN"] = {"copy": "RES"}
    path = folder(tmp_path, spec)
    (path / "labs.csv").write_text("ID,DONE,HGB,WBC\n001,Y,13.1,high\n")
    with pytest.raises(UserError) as err:
        run(path)
    assert err.value.line() == (
        "labs.csv, row 2, column WBC: LBSTRESN value 'high' is not a number; fix the source value"
    )


def test_non_extensible_codelist_value_is_an_error(tmp_path: Path):
    path = folder(tmp_path, LB)
    (path / "dem.csv").write_text("ID,SEX\n001,F\n002,X\n")
    with pytest.raises(UserError) as err:
        run(path)
    assert err.value.line() == (
        "dem.csv, row 3: SEX value 'X' is not in the non-extensible codelist SEX; "
        "recode it to a CDISC submission value"
    )


def test_unknown_domain(tmp_path: Path):
    spec = {**LB, "domain": "ZZ"}
    with pytest.raises(UserError) as err:
        run(folder(tmp_path, spec))
    assert err.value.line() == (
        "mappings/lb.yaml:1: no SDTMIG 3.4 dataset 'ZZ'; for a sponsor-defined domain add "
        "'class:' (Findings, Events, Interventions, Findings About) and 'label:', or fix the code"
    )


def test_lookup_cycle_between_domains(tmp_path: Path):
    dm = yaml.safe_load(yaml.safe_dump(DM))
    dm["sources"][0]["variables"]["RACE"] = {
        "lookup": {"table": "LB", "by": {"ID": SUBJECT}, "value": "LBORRES"}
    }
    with pytest.raises(UserError, match="lookups between domains form a cycle"):
        run(folder(tmp_path, LB, dm))


def test_blocks_are_stacked_in_order(tmp_path: Path):
    spec = yaml.safe_load(yaml.safe_dump(LB))
    second = yaml.safe_load(yaml.safe_dump(spec["sources"][0]))
    second.pop("where")
    spec["sources"].append(second)
    lb = run(folder(tmp_path, spec))["LB"].frame
    # the second block keeps DONE=N rows, but row 3 has no values, so the melt drops it
    assert len(lb) == 3 + 3
    assert pd.Series(lb["__row"]).tolist()[3:] == [2, 2, 4]


def test_a_melt_column_value_wins_only_on_its_own_rows(tmp_path: Path):
    spec = yaml.safe_load(yaml.safe_dump(LB))
    block = spec["sources"][0]
    block["variables"]["LBSPEC"] = {"constant": "BLOOD"}
    block["melt"]["columns"]["WBC"]["LBSPEC"] = "SERUM"
    lb = run(folder(tmp_path, spec))["LB"].frame
    assert lb[["LBTESTCD", "LBSPEC"]].values.tolist() == [
        ["HGB", "BLOOD"],
        ["WBC", "SERUM"],
        ["WBC", "SERUM"],
    ]
