"""Study folders the docs allow that leave things out (a visit, a date, a day, a spec's
variable) convert, or stop with one line naming what the spec lacks; none ends in an
internal error. Real EDC exports often have forms without dates or visits. Each case edits a
copy of the bundled study; the expected values are read off the edit."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import copy_study, fails_with, replace_in, run_cli


def _drop(path: Path, pattern: str) -> None:
    """Remove the lines of a spec that match `pattern` (a mapping and its nested lines)."""
    text = path.read_text()
    cut = re.sub(pattern, "", text, flags=re.MULTILINE | re.DOTALL)
    assert cut != text, f"{pattern!r} not in {path}"
    path.write_text(cut)


def _columns(out: Path, dataset: str) -> list[str]:
    data = json.loads((out / "sdtm" / f"{dataset}.json").read_text())
    return [c["name"] for c in data["columns"]]


def _rows(out: Path, dataset: str, *columns: str) -> list[tuple]:
    data = json.loads((out / "sdtm" / f"{dataset}.json").read_text())
    names = [c["name"] for c in data["columns"]]
    return [tuple(row[names.index(c)] for c in columns) for row in data["rows"]]


def _convert(study: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    return out


def test_a_findings_spec_that_maps_no_visit(tmp_path: Path):
    """Was KeyError 'VISIT' while building SV: VS records without a visit add no SV record."""
    study = copy_study(tmp_path)
    _drop(study / "mappings" / "vs.yaml", r"^      VISIT:.*?(?=^      [A-Z])")
    out = _convert(study, tmp_path)
    assert "VISIT" not in _columns(out, "vs")
    assert {n for (n,) in _rows(out, "vs", "VISITNUM")} == {None}  # expected, so kept empty
    assert len(_rows(out, "vs", "VSTESTCD")) == 154  # as with visits: no record lost
    assert {n for (n,) in _rows(out, "sv", "VISITNUM")} == {1.0, 2.0, 3.0, 4.0, 5.0, 3.01}


def test_planned_visits_without_days_number_unscheduled_visits_from_zero(tmp_path: Path):
    """Was IndexError: with no planned day, no planned visit comes before an unscheduled one,
    so its number is 0 + .01 (the fixture has one unscheduled lab visit)."""
    study = copy_study(tmp_path)
    text = (study / "study.yaml").read_text()
    (study / "study.yaml").write_text(re.sub(r", day: -?\d+, window: \[-?\d+, -?\d+\]", "", text))
    out = _convert(study, tmp_path)
    unscheduled = {r for r in _rows(out, "lb", "VISITNUM", "VISIT") if r[1].startswith("UNSCH")}
    assert unscheduled == {(0.01, "UNSCHEDULED 0.01")}
    assert "VISITDY" not in _columns(out, "sv")
    assert {n for (n,) in _rows(out, "sv", "VISITNUM")} == {1.0, 2.0, 3.0, 4.0, 5.0, 0.01}


def test_a_baseline_needs_the_date_the_result_and_the_groups_it_reads(tmp_path: Path):
    study = copy_study(tmp_path)
    spec = study / "mappings" / "vs.yaml"
    _drop(spec, r"^      VSDTC:[^\n]*\n")
    fails_with(
        study,
        tmp_path,
        "mappings/vs.yaml: 'baseline' reads VSDTC, which no block of the spec maps; map VSDTC, "
        "or remove 'baseline' from the spec",
    )
    study = copy_study(tmp_path / "by")
    replace_in(study / "mappings" / "vs.yaml", "by: [VSTESTCD]", "by: [VSTESTCD, VSLOC]")
    fails_with(
        study,
        tmp_path / "by",
        "mappings/vs.yaml: 'baseline' reads VSLOC, which no block of the spec maps; map VSLOC, "
        "or remove 'baseline' from the spec",
    )


def test_a_melt_with_no_column_is_a_spec_error(tmp_path: Path):
    """Was ValueError 'No objects to concatenate'."""
    study = copy_study(tmp_path)
    spec = study / "mappings" / "vs.yaml"
    text = spec.read_text()
    spec.write_text(
        text[: text.index("    melt:")] + "    melt:\n      value: RESULT\n      columns: {}\n"
    )
    line = text[: text.index("    melt:")].count("\n") + 3
    fails_with(
        study,
        tmp_path,
        f"mappings/vs.yaml:{line}: sources.0.melt.columns: Dictionary should have at least 1 "
        "item after validation, not 0; see docs/mapping-language.md",
    )


def test_a_findings_result_needs_its_test_code(tmp_path: Path):
    """Was KeyError 'VSTESTCD' while standardising results."""
    study = copy_study(tmp_path)
    spec = study / "mappings" / "vs.yaml"
    spec.write_text(
        "domain: VS\nsources:\n  - source: vitals\n    subject: Subject No.\n    variables:\n"
        "      VSORRES: {copy: Weight (kg)}\n"
    )
    fails_with(
        study,
        tmp_path,
        "mappings/vs.yaml: the spec maps VSORRES but not VSTESTCD: a result needs the test it is "
        "of; map VSTESTCD (a melt column's test code, or a column of the source)",
    )


def test_a_findings_spec_that_maps_no_variable_still_has_a_valid_define(tmp_path: Path):
    """Was RuntimeError: the define.xml written had an empty ValueListDef for VSORRES (no
    record names a test), which Define-XML 2.1 does not allow."""
    study = copy_study(tmp_path)
    spec = study / "mappings" / "vs.yaml"
    spec.write_text(
        "domain: VS\nsources:\n  - source: vitals\n    subject: Subject No.\n    variables: {}\n"
    )
    out = _convert(study, tmp_path)
    assert len(_rows(out, "vs", "USUBJID")) == 25  # one record per data row of raw/vitals.csv
    define = (out / "sdtm" / "define.xml").read_text()
    assert "VL.VS." not in define and 'ItemOID="IT.VS.VSORRES"' in define
