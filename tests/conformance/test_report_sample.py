"""Reports of many findings: validation.json keeps every one; the HTML page and the XLSX
Details sheet list the first 1,000 of each rule in each dataset and say how many more."""

import json
from pathlib import Path

import openpyxl
import pytest

from tests.helpers import html_findings
from trialbridge.conformance import report_html, report_json, report_xlsx
from trialbridge.conformance.engine import Finding


def _findings() -> list[Finding]:
    def finding(rule: str, record: int) -> Finding:
        return Finding(rule, "Warning", "LB", record, "S-1", float(record), "LBDTC", "x", "m")

    return [finding("TB0007", n) for n in range(1, 1501)] + [finding("TB0036", 1)]


def test_json_keeps_all_xlsx_a_thousand_per_rule_and_the_page_all_up_to_its_limit(
    tmp_path: Path,
):
    findings = _findings()
    report_json.write(findings, tmp_path)
    report_html.write(findings, tmp_path, "many")
    report_xlsx.write(findings, tmp_path, ["LB"])
    assert len(json.loads((tmp_path / "validation.json").read_text())["findings"]) == 1501
    html = (tmp_path / "validation.html").read_text()
    assert len(html_findings(html)) == 1501 and "more are in validation.json" not in html
    details = openpyxl.load_workbook(tmp_path / "validation.xlsx")["Details"]
    assert details.max_row == 1 + 1001
    summary = openpyxl.load_workbook(tmp_path / "validation.xlsx")["Issue Summary"]
    assert [row[-1] for row in summary.iter_rows(min_row=2, values_only=True)] == [1500, 1]


def test_past_its_limit_the_page_lists_a_thousand_per_rule_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(report_html, "ALL_UP_TO", 1500)
    report_html.write(_findings(), tmp_path, "many")
    html = (tmp_path / "validation.html").read_text()
    shown = html_findings(html)
    assert len(shown) == 1001 and [f[3] for f in shown][-2:] == [1000, 1]
    assert "(500 more are in validation.json)" in html
