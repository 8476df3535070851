"""validate on SDTM folders broken in the ways the validator exists to report: a repeated
USUBJID in DM, a repeated variable name, numbers stored as text and text as numbers, an
empty dataset, a domain trialbridge does not know, no DM, its own report in the folder, and
values XLSX cannot hold. Each gives findings (with the rule, dataset, record and variable)
and complete reports, never an internal error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from tests.corpus.makers import datasetjson as json_damage
from tests.corpus.makers import xpt as damage
from tests.helpers import STUDY, html_findings, rewrite_xpt, run_cli
from trialbridge import api

Found = tuple[str, str, int | None, str, object]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, root / "xpt", formats=("xpt",))
    api.convert(STUDY, root / "json", formats=("json",))
    return {"xpt": root / "xpt" / "sdtm", "json": root / "json" / "sdtm"}


@pytest.fixture(scope="module")
def clean(converted: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> set[Found]:
    return _found(converted["xpt"], tmp_path_factory.mktemp("clean"))[1]


def _copy(converted: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    folder = tmp_path / "sdtm"
    shutil.copytree(converted[kind], folder)
    return folder


def _found(folder: Path, out: Path) -> tuple[int, set[Found]]:
    """validate's exit code and its findings as (rule, dataset, record, variable, value)."""
    result = run_cli("validate", folder, "--out", out)
    assert "internal error" not in result.output and "Traceback" not in result.output
    report = json.loads((out / "validation.json").read_text())
    found = {
        (f["rule"], f["dataset"], f["record"], f["variable"], f["value"])
        for f in report["findings"]
    }
    return result.exit_code, found


def test_a_repeated_usubjid_in_dm_is_a_finding_not_an_internal_error(
    converted: dict[str, Path], clean: set[Found], tmp_path: Path
):
    folder = _copy(converted, "xpt", tmp_path)
    rewrite_xpt(folder / "dm.xpt", lambda f: pd.concat([f, f.iloc[[0]]], ignore_index=True))
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    usubjid = "PLMSC-SPMS-01-001"
    assert ("TB0004", "DM", 1, "USUBJID", usubjid) in found
    assert ("TB0004", "DM", 6, "USUBJID", usubjid) in found
    assert ("TB0005", "DM", 6, "SUBJID", "001") in found
    # the repeat adds its own findings only: nothing in the other datasets changes
    assert {f for f in found - clean if f[1] != "DM"} == set()


def test_a_repeated_variable_name_is_one_finding(
    converted: dict[str, Path], clean: set[Found], tmp_path: Path
):
    folder = _copy(converted, "xpt", tmp_path)
    path = folder / "ae.xpt"
    path.write_bytes(damage.namestr(folder, path, "AELLT", "name", text="AETERM"))
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    assert found - clean == {
        ("TB0155", "AE", None, "AETERM", "ae.xpt: 2 variables named AETERM"),
        # AELLT is no longer in the file, as the findings say
        ("TB0012", "AE", None, "AELLT", None),
        ("TB0049", "AE", None, "AELLT", None),
    }


def test_a_repeated_dataset_json_column_is_one_finding(converted: dict[str, Path], tmp_path: Path):
    folder = _copy(converted, "json", tmp_path)
    path = folder / "ae.json"
    document = json.loads(path.read_text())
    document["columns"].append(dict(document["columns"][5]))  # AETERM again, at the end
    for row in document["rows"]:
        row.append("Headache again")
    path.write_text(json.dumps(document))
    before = _found(_copy(converted, "json", tmp_path / "before"), tmp_path / "out0")[1]
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    assert found - before == {("TB0155", "AE", None, "AETERM", "ae.json: 2 variables named AETERM")}


def test_numbers_stored_as_text_and_text_as_numbers_are_type_findings(
    converted: dict[str, Path], clean: set[Found], tmp_path: Path
):
    folder = _copy(converted, "xpt", tmp_path)

    def swap(frame: pd.DataFrame) -> pd.DataFrame:
        frame["AGE"] = frame["AGE"].map(lambda v: f"{v:g}")  # 38 -> '38'
        frame["SUBJID"] = pd.to_numeric(frame["SUBJID"])  # '001' -> 1.0
        return frame

    rewrite_xpt(folder / "dm.xpt", swap)
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    # the type findings alone: AGE as text is still compared by the numbers it holds
    assert found - clean == {
        ("TB0060", "DM", None, "AGE", "Char"),
        ("TB0060", "DM", None, "SUBJID", "Num"),
        ("TB0052", "DM", None, "AGE", "integer"),  # as define.xml declares it
        ("TB0052", "DM", None, "SUBJID", "text"),
    }


def test_an_empty_dataset_an_unknown_domain_and_no_dm(converted: dict[str, Path], tmp_path: Path):
    folder = _copy(converted, "xpt", tmp_path)
    rewrite_xpt(folder / "ae.xpt", lambda f: f.iloc[0:0])
    zz = pd.DataFrame({"STUDYID": ["PLMSC-SPMS"], "DOMAIN": ["ZZ"], "ZZVAL": ["x"]})
    pyreadstat.write_xport(zz, str(folder / "zz.xpt"), table_name="ZZ", file_format_version=5)
    (folder / "dm.xpt").unlink()
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    assert ("TB0001", "", None, "(dataset)", "DM") in found
    assert ("TB0047", "", None, "(dataset)", "DM") in found  # define.xml describes a DM
    assert ("TB0046", "ZZ", None, "(dataset)", "ZZ") in found  # ZZ is not in define.xml
    assert not {f for f in found if f[1] == "AE" and f[2] is not None}  # no record to flag


def test_validate_into_its_own_folder_twice(converted: dict[str, Path], tmp_path: Path):
    folder = _copy(converted, "json", tmp_path)
    first = run_cli("validate", folder, "--out", folder)
    second = run_cli("validate", folder, "--out", folder)
    assert first.exit_code == second.exit_code == 0, second.output
    assert first.output == second.output
    assert (folder / "validation.json").is_file()


def test_control_characters_reach_the_xlsx_escaped_with_a_note(
    converted: dict[str, Path], tmp_path: Path
):
    folder = _copy(converted, "json", tmp_path)
    path = folder / "ae.json"
    path.write_bytes(json_damage.edited(folder, path, set={"rows.0.5": "Head\u0007ache"}))
    out = tmp_path / "out"
    result = run_cli("validate", folder, "--out", out)
    assert result.exit_code == 1, result.output  # TB0016: text outside printable ASCII
    report = json.loads((out / "validation.json").read_text())
    ascii_findings = [f for f in report["findings"] if f["rule"] == "TB0016"]
    assert [(f["dataset"], f["record"], f["variable"], f["value"]) for f in ascii_findings] == [
        ("AE", 1, "AETERM", "Head\u0007ache")
    ]
    details = openpyxl.load_workbook(out / "validation.xlsx")["Details"]
    rows = list(details.iter_rows(values_only=True))
    flagged = [r[:7] for r in rows if r[6] == "TB0016"]
    assert flagged == [("AE", 1, "PLMSC-SPMS-01-001", 1, "AETERM", "Head\\x07ache", "TB0016")]
    assert rows[-1][0].startswith("Note: control characters in this sheet are shown as \\xNN")
    html = (out / "validation.html").read_text()
    assert [f[7] for f in html_findings(html) if f[0] == "TB0016"] == ["Head\\x07ache"]
    assert "\u0007" not in html


def test_a_value_that_looks_like_a_formula_is_text_in_the_xlsx(
    converted: dict[str, Path], tmp_path: Path
):
    """A value starting with '=' was stored as a formula (a HYPERLINK in the data would run
    in the reviewer's spreadsheet)."""
    folder = _copy(converted, "json", tmp_path)
    path = folder / "ae.json"
    names = [c["name"] for c in json.loads(path.read_text())["columns"]]
    formula = '=HYPERLINK("http://evil.example","MILD")'
    path.write_bytes(
        json_damage.edited(folder, path, set={f"rows.0.{names.index('AESEV')}": formula})
    )
    out = tmp_path / "out"
    run_cli("validate", folder, "--out", out)
    details = openpyxl.load_workbook(out / "validation.xlsx")["Details"]
    cells = [c for row in details.iter_rows() for c in row if c.value == formula]
    assert cells and all(c.data_type == "s" for c in cells)


def _at(row: int, variable: str, value: object):  # type: ignore[no-untyped-def]
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[variable] = frame[variable].astype(object)
        frame.loc[row, variable] = value
        return frame

    return change


# one defect planted in a copy of the clean PLMSC SDTM, the kinds agencies reject: the file,
# the change (pyreadstat), and the finding it must give (rule, dataset, record, variable) with
# the ids of the same check elsewhere that rule must cite
PLANTED = {
    "duplicate key": ("lb.xpt", _at(1, "LBSEQ", 1.0), ("TB0003", "LB", 2, "LBSEQ"), "SD0005"),
    "non-ASCII text": (
        "ae.xpt",
        _at(0, "AETERM", "Céphalée"),
        ("TB0016", "AE", 1, "AETERM"),
        "SD1029",
    ),
    "inconsistent units": (
        "lb.xpt",
        _at(0, "LBSTRESU", "fraction"),
        ("TB0021", "LB", 1, "LBSTRESU"),
        "CORE-000699",
    ),
    "dates out of order": (
        "ae.xpt",
        _at(1, "AEENDTC", "2021-06-23"),
        ("TB0008", "AE", 2, "AESTDTC"),
        "CORE-000718",
    ),
    "orphan record": (
        "ae.xpt",
        _at(1, "USUBJID", "PLMSC-SPMS-09-999"),
        ("TB0006", "AE", 2, "USUBJID"),
        "SD0064",
    ),
    "missing required variable": (
        "ae.xpt",
        lambda f: f.drop(columns=["AETERM"]),
        ("TB0010", "AE", None, "AETERM"),
        "CORE-000355",
    ),
    "CT violation": ("ae.xpt", _at(0, "AESEV", "VERY BAD"), ("TB0017", "AE", 1, "AESEV"), "CT2001"),
}


@pytest.mark.parametrize("defect", PLANTED)
def test_a_planted_defect_is_reported_by_its_rule_with_its_ids_and_exit_1(
    converted: dict[str, Path], tmp_path: Path, defect: str
):
    file, change, (rule, dataset, record, variable), cited = PLANTED[defect]
    folder = _copy(converted, "xpt", tmp_path)
    rewrite_xpt(folder / file, change)
    code, found = _found(folder, tmp_path / "out")
    assert code == 1
    assert (rule, dataset, record, variable) in {f[:4] for f in found}
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    references = report["rules"][rule]["references"]
    assert cited in references["p21"] + references["core"]
    assert next(f for f in report["findings"] if f["rule"] == rule)["severity"] in (
        "Error",
        "Reject",
    )
