"""validate --baseline: findings compared with an earlier run's validation.json, as new,
unchanged and resolved, in all three reports; a file that is not a report is one line."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.helpers import STUDY, html_findings, rewrite_xpt, run_cli
from trialbridge import api
from trialbridge.conformance.baseline import compare
from trialbridge.conformance.engine import Finding


def _finding(rule: str, record: int | None, usubjid: str | None, seq: float | None) -> Finding:
    return Finding(rule, "Error", "AE", record, usubjid, seq, "AESEV", "BAD", "m")


def _written(finding: Finding) -> dict[str, object]:
    """A finding as validation.json holds it."""
    return json.loads(json.dumps(dataclasses.asdict(finding)))


def test_findings_are_matched_by_subject_and_seq_one_for_one_whatever_their_record():
    now = [
        _finding("TB0017", 7, "S-1", 1.0),  # was record 5: two records were added before it
        _finding("TB0017", 8, "S-2", 3.0),
        _finding("TB0017", 9, "S-2", 3.0),  # a repeat: only one was there before
        _finding("TB0045", None, None, None),
        _finding("TB0061", 2, None, None),  # no subject, no --SEQ: matched by record too
    ]
    before = [
        _finding("TB0017", 5, "S-1", 1.0),
        _finding("TB0017", 6, "S-2", 3.0),
        _finding("TB0017", 6, "S-3", 1.0),  # fixed
        _finding("TB0045", None, None, None),
        _finding("TB0061", 1, None, None),
    ]
    comparison = compare(now, [_written(f) for f in before], "old/validation.json")
    assert comparison.changes == ["unchanged", "unchanged", "new", "unchanged", "new"]
    assert [(f["usubjid"], f["record"]) for f in comparison.resolved] == [("S-3", 6), (None, 1)]
    assert comparison.counts() == {"new": 2, "unchanged": 3, "resolved": 2}
    assert comparison.by_rule() == {
        "TB0017": {"new": 1, "unchanged": 2, "resolved": 1},
        "TB0045": {"new": 0, "unchanged": 1, "resolved": 0},
        "TB0061": {"new": 1, "unchanged": 0, "resolved": 1},
    }


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt",))
    return out / "sdtm"


def _broken(sdtm: Path, folder: Path, sex: dict[int, str]) -> Path:
    """A copy of the PLMSC SDTM with DM's SEX set at the given 0-based rows (by pyreadstat)."""
    shutil.copytree(sdtm, folder)

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        for row, value in sex.items():
            frame.loc[row, "SEX"] = value
        return frame

    rewrite_xpt(folder / "dm.xpt", change)
    return folder


def test_validate_against_a_baseline_says_what_is_new_unchanged_and_resolved(
    sdtm: Path, tmp_path: Path
):
    # before: SEX 'X' on DM records 1 and 2; now record 1 is fixed and record 3 has 'Q';
    # each is TB0017 (not in CDISC's codelist) and TB0054 (not in define.xml's)
    before = _broken(sdtm, tmp_path / "before", {0: "X", 1: "X"})
    now = _broken(sdtm, tmp_path / "now", {1: "X", 2: "Q"})
    assert run_cli("validate", before, "--out", tmp_path / "old").exit_code == 1
    baseline = tmp_path / "old" / "validation.json"
    result = run_cli("validate", now, "--out", tmp_path / "new", "--baseline", baseline)
    assert result.exit_code == 1, result.output
    assert f"against {baseline}: 2 new, 2 unchanged, 2 resolved" in result.output

    report = json.loads((tmp_path / "new" / "validation.json").read_text())
    sex = [(f["rule"], f["record"], f["value"], f["change"]) for f in report["findings"]]
    assert sex == [
        ("TB0017", 2, "X", "unchanged"),
        ("TB0017", 3, "Q", "new"),
        ("TB0054", 2, "X", "unchanged"),
        ("TB0054", 3, "Q", "new"),
    ]
    assert report["baseline"]["counts"] == {"new": 2, "unchanged": 2, "resolved": 2}
    each = {"new": 1, "unchanged": 1, "resolved": 1}
    assert report["baseline"]["by_rule"] == {"TB0017": each, "TB0054": each}
    resolved = [(f["rule"], f["record"], f["value"]) for f in report["baseline"]["resolved"]]
    assert resolved == [("TB0017", 1, "X"), ("TB0054", 1, "X")]

    html = (tmp_path / "new" / "validation.html").read_text()
    assert [(f[0], f[3], f[7], f[8]) for f in html_findings(html)] == sex
    assert "Resolved since the baseline (2)" in html

    book = openpyxl.load_workbook(tmp_path / "new" / "validation.xlsx")
    details = list(book["Details"].iter_rows(values_only=True))
    assert [(r[6], r[1], r[5], r[9]) for r in details[1:]] == sex
    comparison = list(book["Comparison"].iter_rows(values_only=True))
    assert comparison[1:] == [(rule, 1, 1, 1, str(baseline)) for rule in ("TB0017", "TB0054")]
    resolved = list(book["Resolved"].iter_rows(values_only=True))
    assert [(r[0], r[1], r[4], r[5], r[6]) for r in resolved[1:]] == [
        ("DM", 1, "SEX", "X", "TB0017"),
        ("DM", 1, "SEX", "X", "TB0054"),
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("", "a folder, not a file"),
        (
            "{not json",
            "not JSON (unexpected character, expected a string key: line 1 column 2 (char 1))",
        ),
        ('{"summary": []}', "not a validation report: it has no list of findings"),
        (
            '{"findings": [{"rule": "TB0001"}]}',
            "finding 1 has no severity, dataset, record, usubjid, seq, variable, value, message",
        ),
    ],
)
def test_a_baseline_that_is_not_a_report_is_one_line(
    sdtm: Path, tmp_path: Path, content: str | None, problem: str
):
    baseline = tmp_path / "old.json"
    if content == "":
        baseline.mkdir()
    elif content is not None:
        baseline.write_text(content)
    result = run_cli("validate", sdtm, "--out", tmp_path / "out", "--baseline", baseline)
    assert result.exit_code == 2
    assert result.output == (
        f"error: {baseline}: {problem}; give the validation.json an earlier "
        "`trialbridge validate` wrote\n"
    )
    assert not (tmp_path / "out").exists()
