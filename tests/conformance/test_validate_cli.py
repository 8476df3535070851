"""trialbridge validate on real folders: the PLMSC output (no Reject or Error) and a broken
copy (an Error, exit 1), with the JSON report naming each finding's record."""

import json
from pathlib import Path

import pyreadstat
import pytest

from tests.helpers import STUDY, html_findings, run_cli
from trialbridge import api


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return out / "sdtm"


def test_the_plmsc_output_has_no_finding(sdtm: Path, tmp_path: Path):
    result = run_cli("validate", sdtm, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output
    report = json.loads((tmp_path / "validation.json").read_text())
    assert report["summary"] == [] and report["findings"] == []


def _tb0018(folder: Path, out: Path) -> set[tuple[str, str]]:
    run_cli("validate", folder, "--out", out)
    report = json.loads((out / "validation.json").read_text())
    return {(f["variable"], f["value"]) for f in report["findings"] if f["rule"] == "TB0018"}


@pytest.fixture(scope="module")
def bare(sdtm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PLMSC datasets without their define.xml."""
    folder = tmp_path_factory.mktemp("bare")
    for path in sdtm.glob("*.xpt"):
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_sponsor_terms_are_findings_only_where_define_xml_does_not_declare_them(
    sdtm: Path, bare: Path, tmp_path: Path
):
    # without define.xml, the sponsor terms the study had to add (CD19/CD20 tests, DTI tests
    # and their unit, EDSS) are values outside extensible codelists
    values = _tb0018(bare, tmp_path / "bare-report")
    assert {("LBTESTCD", "CD19LY"), ("NVSTRESU", "10^-3 mm2/s"), ("QSCAT", "EDSS")} <= values
    # a define.xml that declares all but CD19LY answers for the others
    define = (sdtm / "define.xml").read_text()
    item = '<EnumeratedItem CodedValue="CD19LY" OrderNumber="1" def:ExtendedValue="Yes"/>'
    assert define.count(item) == 1
    declared = tmp_path / "declared"
    declared.mkdir()
    for path in bare.glob("*.xpt"):
        (declared / path.name).write_bytes(path.read_bytes())
    (declared / "define.xml").write_text(define.replace(item, ""))
    assert _tb0018(declared, tmp_path / "report") == {("LBTESTCD", "CD19LY")}


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


def test_html_and_xlsx_reports_carry_the_same_findings(bare: Path, tmp_path: Path):
    import openpyxl

    first, second = tmp_path / "one", tmp_path / "two"
    run_cli("validate", bare, "--out", first)
    run_cli("validate", bare, "--out", second)
    for name in ("validation.json", "validation.html", "validation.xlsx"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    report = json.loads((first / "validation.json").read_text())
    html = (first / "validation.html").read_text()
    shown = html_findings(html)
    assert len(shown) == len(report["findings"]) and {f[1] for f in shown} == {"Warning"}
    assert "<svg role='img'" in html and "oninput='filterRows()'" in html
    book = openpyxl.load_workbook(first / "validation.xlsx")
    assert book.sheetnames == ["Dataset Summary", "Issue Summary", "Details", "Rules"]
    assert book["Details"].max_row - 1 == len(report["findings"])
    lb = [row for row in book["Dataset Summary"].iter_rows(values_only=True) if row[0] == "LB"]
    assert lb == [("LB", 0, 0, 100, 0)]  # CD19LY and CD20LY: test code and name, 25 each
