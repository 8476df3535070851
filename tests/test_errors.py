"""The error contract beyond the first line: every problem of a run in errors.csv, capped and
counted, and internal failures with and without --debug."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest

from tests.helpers import copy_study, run_cli
from trialbridge import api
from trialbridge.error_report import render
from trialbridge.errors import Problems, UserError, UserErrors, collecting, report_rows

DATE = "correct the source value (unknown parts as UN)"


def _errors(out: Path) -> list[dict[str, str]]:
    with (out / "errors.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_three_hundred_bad_dates_are_fixed_in_one_pass(tmp_path: Path):
    """300 AE rows with an impossible start date: the line names the first and the count, and
    errors.csv lists 200 of them in row order and counts the other 100."""
    study = copy_study(tmp_path)
    path = study / "raw/adverse_events.csv"
    header, first = path.read_text().splitlines()[:2]
    rows = [first.replace("21/06/2021,14:30", f"3{i % 10}/02/2021,14:30") for i in range(300)]
    path.write_text("\n".join([header, *rows]) + "\n")
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: raw/adverse_events.csv, row 2, column Start date: '30/02/2021' is not a valid "
        f"date in the format dd/mm/yyyy; {DATE} (and 299 more problems: all listed in "
        f"{out}/errors.csv)\n"
    )
    listed = _errors(out)
    assert len(listed) == 201
    assert [r["row"] for r in listed[:200]] == [str(n) for n in range(2, 202)]
    assert listed[0] == {
        "file": "raw/adverse_events.csv",
        "row": "2",
        "column": "Start date",
        "problem": "'30/02/2021' is not a valid date in the format dd/mm/yyyy",
        "fix": DATE,
    }
    assert listed[200] == {
        "file": "raw/adverse_events.csv",
        "row": "",
        "column": "Start date",
        "problem": "100 more problems here, not listed",
        "fix": "",
    }
    assert sorted(p.name for p in out.iterdir()) == ["errors.csv"]  # nothing else written


def test_problems_in_several_files_are_grouped_by_file_and_column(tmp_path: Path):
    study = copy_study(tmp_path)
    for name, old, new in (
        ("raw/vitals.csv", "12/06/2021,09:00", "12/06/2021,9h00"),
        ("raw/adverse_events.csv", ",Possible,", ",Maybe,"),
        ("raw/labs_cbc.csv", "12/06/2021", "12/13/2021"),
    ):
        text = (study / name).read_text()
        (study / name).write_text(text.replace(old, new, 1))
    out = tmp_path / "out"
    assert run_cli("convert", study, "--out", out).exit_code == 2
    places = [(r["file"], r["row"], r["column"]) for r in _errors(out)]
    assert places == [
        ("raw/adverse_events.csv", "2", "Relationship to PLMSC"),
        ("raw/labs_cbc.csv", "2", "Sample date"),
        ("raw/vitals.csv", "2", "Time"),
    ]


def _broken(*args: object, **kwargs: object) -> None:
    raise KeyError("RFSTDTC")


def test_an_internal_failure_is_one_line_that_says_how_to_see_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(api, "convert", _broken)
    monkeypatch.delenv("TRIALBRIDGE_DEBUG", raising=False)
    result = run_cli("convert", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == (
        "internal error: KeyError: 'RFSTDTC'; run again with --debug for the traceback, and "
        "report it\n"
    )


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str):
    monkeypatch.setattr(api, "convert", _broken)
    args = ["convert", tmp_path, "--out", tmp_path / "out"]
    if how == "option":
        args.insert(0, "--debug")
    else:
        monkeypatch.setenv("TRIALBRIDGE_DEBUG", "1")
    result = run_cli(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in _broken" in result.stderr
    assert result.stderr.endswith("internal error: KeyError: 'RFSTDTC'\n")


def test_a_library_warning_is_not_a_second_line_unless_debugging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def warns(*args: object, **kwargs: object) -> None:
        warnings.warn("filling with text will raise", FutureWarning, stacklevel=1)
        raise UserError("no study.yaml", "study", "give a study folder")

    monkeypatch.setattr(api, "convert", warns)
    for debug in ([], ["--debug"]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", append=True)  # what is not filtered out is shown
            result = run_cli(*debug, "convert", tmp_path, "--out", tmp_path / "out")
        assert result.stderr == "error: study: no study.yaml; give a study folder\n"
        shown = [str(w.message) for w in caught]
        assert shown == (["filling with text will raise"] if debug else [])


def test_each_group_closes_with_its_count_and_a_melt_s_count_stays_in_its_file():
    """Rows not listed are counted in their own group, right after its rows; the unlisted
    rows of one report over several columns (a melt's) are counted under the file alone."""

    def bad(file: str, row: int, column: str) -> UserError:
        return UserError("not a number", "", "fix it", file=file, row=row, column=column)

    with pytest.raises(UserErrors) as caught, collecting():
        report_rows([bad("b.csv", 3, "SYS"), bad("b.csv", 2, "DIA")], 10, "not a number")
        report_rows([bad("a.csv", 5, "HGB")], 4, "not a number")
    problems: Problems = caught.value.problems
    assert problems.total == 14
    assert render(problems).decode().splitlines() == [
        "file,row,column,problem,fix",
        "a.csv,5,HGB,not a number,fix it",
        'a.csv,,HGB,"3 more problems here, not listed",',
        'b.csv,,,"8 more problems here, not listed",',
        "b.csv,2,DIA,not a number,fix it",
        "b.csv,3,SYS,not a number,fix it",
    ]


def test_a_run_with_one_problem_leaves_no_earlier_errors_file(tmp_path: Path):
    study = copy_study(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "errors.csv").write_text("file,row,column,problem,fix\nraw/x.csv,2,A,old,fix\n")
    path = study / "raw/adverse_events.csv"
    path.write_text(path.read_text().replace(",Possible,", ",Maybe,", 1))
    result = run_cli("convert", study, "--out", out)
    assert result.exit_code == 2
    assert "(and" not in result.stderr
    assert not (out / "errors.csv").exists()


def test_an_output_path_that_cannot_be_one_is_refused_before_any_work(tmp_path: Path):
    (tmp_path / "afile").write_text("")
    result = run_cli("convert", tmp_path / "no-study", "--out", tmp_path / "afile")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'afile'}: the output path is a file; give a folder for --out\n"
    )
