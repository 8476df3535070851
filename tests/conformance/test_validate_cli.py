"""trialbridge validate on real folders: the PLMSC output (no Reject or Error) and a broken
copy (an Error, exit 1), with the JSON report naming each finding's record."""

import json
from pathlib import Path

import pyreadstat
import pytest

from tests.helpers import STUDY, run_cli
from trialbridge import api


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return out / "sdtm"


def test_the_plmsc_output_has_no_reject_or_error(sdtm: Path, tmp_path: Path):
    result = run_cli("validate", sdtm, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "validation.json").read_text())
    assert {row["severity"] for row in report["summary"]} <= {"Warning", "Notice"}
    # the sponsor terms the study had to add (CD19/CD20 tests, DTI tests and units, EDSS)
    values = {(f["variable"], f["value"]) for f in report["findings"] if f["rule"] == "TB0018"}
    assert ("LBTESTCD", "CD19LY") in values and ("NVSTRESU", "10^-3 mm2/s") in values


def test_a_duplicate_sequence_number_is_an_error_with_its_record(sdtm: Path, tmp_path: Path):
    broken = tmp_path / "sdtm"
    broken.mkdir()
    for path in sdtm.glob("*.xpt"):
        (broken / path.name).write_bytes(path.read_bytes())
    frame, _ = pyreadstat.read_xport(str(broken / "ae.xpt"))
    frame.loc[1, "AESEQ"] = frame.loc[0, "AESEQ"]
    frame.loc[1, "USUBJID"] = frame.loc[0, "USUBJID"]
    pyreadstat.write_xport(frame, str(broken / "ae.xpt"), table_name="AE", file_format_version=5)
    result = run_cli("validate", broken, "--out", tmp_path)
    assert result.exit_code == 1
    assert any(
        line.startswith("TB0003") and " Error " in line for line in result.output.splitlines()
    )
    report = json.loads((tmp_path / "validation.json").read_text())
    duplicates = [f for f in report["findings"] if f["rule"] == "TB0003"]
    assert [(f["dataset"], f["record"], f["variable"], f["seq"]) for f in duplicates] == [
        ("AE", 1, "AESEQ", 1.0),
        ("AE", 2, "AESEQ", 1.0),
    ]
    assert report["rules"]["TB0003"]["references"]["p21"] == ["SD0005"]


def test_a_missing_folder_is_one_line(tmp_path: Path):
    result = run_cli("validate", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"error: {tmp_path / 'nowhere'}: SDTM folder not found; give the folder with the .xpt files"
    )


def test_html_and_xlsx_reports_carry_the_same_findings(sdtm: Path, tmp_path: Path):
    import openpyxl

    first, second = tmp_path / "one", tmp_path / "two"
    run_cli("validate", sdtm, "--out", first)
    run_cli("validate", sdtm, "--out", second)
    for name in ("validation.json", "validation.html", "validation.xlsx"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    report = json.loads((first / "validation.json").read_text())
    html = (first / "validation.html").read_text()
    assert html.count("<tr data-severity='Warning'>") == len(report["findings"])
    assert "<svg role='img'" in html and "oninput='filterRows()'" in html
    book = openpyxl.load_workbook(first / "validation.xlsx")
    assert book.sheetnames == ["Dataset Summary", "Issue Summary", "Details", "Rules"]
    assert book["Details"].max_row - 1 == len(report["findings"])
    lb = [row for row in book["Dataset Summary"].iter_rows(values_only=True) if row[0] == "LB"]
    assert lb == [("LB", 0, 0, 100, 0)]  # CD19LY and CD20LY: test code and name, 25 each
