"""`trialbridge test`: the spec tests beside the bundled studies' specs pass, and a case that
expects something else, or names what the study lacks, is reported as it should be."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import copy_study, replace_in, run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_the_bundled_studies_spec_tests_pass():
    plmsc = run_cli("test", ROOT / "fixtures" / "plmsc-spms")
    assert plmsc.exit_code == 0, plmsc.output
    assert plmsc.output.splitlines() == [
        "mappings/lb.test.yaml:8: one CBC row melts into four tests, haemoglobin standardised "
        "to g/L: passed",
        "mappings/lb.test.yaml:21: an empty cell makes no record: passed",
        "2 of 2 cases passed",
    ]
    ascend = run_cli("test", ROOT / "fixtures" / "ascend-spms")
    assert ascend.exit_code == 0, ascend.output
    assert ascend.output.splitlines()[-1] == "1 of 1 cases passed"


def test_a_difference_names_dataset_record_and_variable(tmp_path: Path):
    study = copy_study(tmp_path)
    tests = study / "mappings" / "lb.test.yaml"
    replace_in(tests, "LBSTRESN: 131,", "LBSTRESN: 13.1,")
    replace_in(
        tests,
        '{LBTESTCD: PLAT, LBORRES: "245"}',
        '{LBTESTCD: PLAT, LBORRES: "245"}\n        - {LBTESTCD: WBC}',
    )
    result = run_cli("test", study)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "mappings/lb.test.yaml:8: one CBC row melts into four tests, haemoglobin standardised "
        "to g/L: FAILED",
        "  LB record 1 LBSTRESN: expected 13.1, got 131",
        "mappings/lb.test.yaml:21: an empty cell makes no record: FAILED",
        "  LB: 3 records expected, 2 made",
        "0 of 2 cases passed",
    ]


def test_a_column_the_source_lacks_is_one_line_at_its_row(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(study / "mappings" / "lb.test.yaml", 'HGB (g/dL): "12.9"', 'HGB: "12.9"')
    result = run_cli("test", study)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: mappings/lb.test.yaml:24: column 'HGB' is not in raw/labs_cbc.csv; name the "
        "column as the file's header does"
    )


def test_a_source_study_yaml_lacks_is_one_line(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(study / "mappings" / "lb.test.yaml", "      labs_cbc:\n", "      labs:\n")
    result = run_cli("test", study)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: mappings/lb.test.yaml:10: source 'labs' is not in study.yaml; use one of: "
        "demographics, "
    )


def test_a_study_without_spec_tests_says_so(tmp_path: Path):
    study = copy_study(tmp_path)
    (study / "mappings" / "lb.test.yaml").unlink()
    result = run_cli("test", study)
    assert result.exit_code == 0
    assert result.output == "no spec tests: write mappings/<spec>.test.yaml beside a spec\n"
