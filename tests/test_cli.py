"""The command line: help, the summary table, and bad inputs.

Every bad input gives exit code 2, one line on stderr saying what, where and how to fix,
no traceback, and no output folder."""

from pathlib import Path

import pytest

from tests.helpers import STUDY, copy_study, fails_with, replace_in, run_cli
from tests.test_plmsc_fixture import EXPECTED


def test_help_explains_the_commands():
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "convert" in result.output and "Exit codes" in result.output
    sub = run_cli("convert", "--help")
    assert sub.exit_code == 0 and "--out" in sub.output and "--ct" in sub.output


def test_convert_prints_a_summary_table(tmp_path: Path):
    result = run_cli("convert", STUDY, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["domain", "records", "variables", "subjects"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:-1]}
    assert rows["DM"] == ["5", "26", "5"]
    assert rows["AE"][0] == "2" and rows["EX"][0] == "5"
    names = sorted(p.name for p in (tmp_path / "out" / "sdtm").iterdir())
    assert names == sorted([f"{n}.xpt" for n in EXPECTED] + ["define.html", "define.xml"])


def test_spec_yaml_syntax_error(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(
        study / "mappings/ae.yaml", "      AESPID: {copy: AE No.}", "      AESPID: {copy: [AE"
    )
    fails_with(
        study,
        tmp_path,
        "mappings/ae.yaml:8: YAML syntax error: expected ',' or ']', but got ':' (parsing a flow "
        "sequence opened on line 7); fix the YAML",
    )


def test_spec_naming_an_unknown_source_column(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(
        study / "mappings/ae.yaml",
        "{copy: Adverse event (verbatim)}",
        "{copy: Adverse event verbatim}",
    )
    fails_with(
        study,
        tmp_path,
        "mappings/ae.yaml:8: column 'Adverse event verbatim' is not in raw/adverse_events.csv; "
        "did you mean 'Adverse event (verbatim)'?",
    )


def test_unmapped_local_code(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(
        study / "raw/demographics.csv",
        "003,02,16/06/2021,25/07/1990,2,",
        "003,02,16/06/2021,25/07/1990,9,",
    )
    fails_with(
        study,
        tmp_path,
        "raw/demographics.csv, row 4, column Sex (1=Male 2=Female): value '9' has no mapping "
        "in the recode map or codelist SEX; add it to the recode map (mappings/dm.yaml:16)",
    )


def test_impossible_date(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(study / "raw/adverse_events.csv", "24/06/2021,16:10", "30/02/2021,16:10")
    fails_with(
        study,
        tmp_path,
        "raw/adverse_events.csv, row 3, column Start date: '30/02/2021' is not a valid date in "
        "the format dd/mm/yyyy; correct the source value (unknown parts as UN)",
    )


def test_missing_source_file(tmp_path: Path):
    study = copy_study(tmp_path)
    (study / "raw/vitals.csv").unlink()
    fails_with(
        study,
        tmp_path,
        "raw/vitals.csv: source 'vitals' file not found; check 'file' under sources in study.yaml",
    )


def test_duplicate_subject_in_demographics(tmp_path: Path):
    study = copy_study(tmp_path)
    path = study / "raw/demographics.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    fails_with(
        study,
        tmp_path,
        "raw/demographics.csv, row 7, column subject id: subject '001' appears twice in "
        "demographics; keep one record per subject",
    )


def test_label_over_40_characters(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(
        study / "mappings/ae.yaml",
        "label: Infusion Related Reaction,",
        "label: Infusion Related Reaction Reported By Investigator,",
    )
    fails_with(
        study,
        tmp_path,
        "mappings/ae.yaml:45: supplemental.AEINFRL.label: String should have at most 40 "
        "characters; see docs/mapping-language.md",
    )


def test_value_over_200_bytes(tmp_path: Path):
    study = copy_study(tmp_path)
    long_term = "headache " * 25  # 225 characters
    replace_in(study / "raw/adverse_events.csv", "mild headache after infusion", long_term)
    fails_with(
        study,
        tmp_path,
        "ae.xpt: AETERM value is 224 bytes at USUBJID PLMSC-SPMS-01-001, AESEQ 1 "
        "(raw/adverse_events.csv, row 2); XPT v5 allows 200; shorten it or split it into SUPP "
        "variables",
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "mappings/ae.yaml",
            "      AETERM: {copy",
            "      AEFOO: {constant: x}\n      AETERM: {copy",
            "mappings/ae.yaml:8: AEFOO is not an AE variable in SDTMIG 3.4; fix the name, or "
            "declare it under 'supplemental' for SUPPAE",
        ),
        (
            "mappings/cm.yaml",
            "  - source: conmeds",
            "  - source: con_meds",
            "mappings/cm.yaml:7: source 'con_meds' is not defined in study.yaml; add it under "
            "'sources' or fix the name",
        ),
        (
            "raw/edss.csv",
            "005,M6,02/01/2022,6.0",
            "009,M6,02/01/2022,6.0",
            "raw/edss.csv, row 21, column subject id: subject '009' is not in demographics; add "
            "the subject to DM or fix the id",
        ),
        (
            "study.yaml",
            "elements: [SCRN, PLMSC, FU]",
            "elements: [SCRN, PLMSC, FUP]",
            "study.yaml:45: arms: arm PLMSC uses element(s) FUP not defined in elements; "
            "see docs/mapping-language.md",
        ),
    ],
)
def test_other_spec_and_data_errors(tmp_path: Path, file: str, old: str, new: str, expected: str):
    study = copy_study(tmp_path)
    replace_in(study / file, old, new)
    fails_with(study, tmp_path, expected)


def test_missing_study_folder(tmp_path: Path):
    fails_with(
        tmp_path / "nope",
        tmp_path,
        f"{tmp_path / 'nope'}: study folder not found; give the folder that holds study.yaml",
    )


def test_a_user_ct_release_replaces_the_shipped_one(tmp_path: Path):
    from importlib import resources

    shipped = resources.files("trialbridge.sdtm.standards").joinpath("ct.tsv").read_text()
    release = tmp_path / "SDTM Terminology 2025-03-28.txt"
    release.write_text(shipped)
    result = run_cli("convert", STUDY, "--out", tmp_path / "a", "--ct", release)
    assert result.exit_code == 0, result.output
    assert "(CT 2025-03-28)" in result.output
    assert run_cli("convert", STUDY, "--out", tmp_path / "b").exit_code == 0
    for path in sorted((tmp_path / "b" / "sdtm").iterdir()):
        assert path.read_bytes() == (tmp_path / "a" / "sdtm" / path.name).read_bytes()
    # a release without the SEX codelist: the DM spec's recode names it
    lines = [
        line
        for line in shipped.splitlines()
        if "\tC66731\t" not in line and not line.startswith("C66731\t")
    ]
    release.write_text("\n".join(lines) + "\n")
    out = tmp_path / "c"
    result = run_cli("convert", STUDY, "--out", out, "--ct", release)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: mappings/dm.yaml:16: unknown codelist 'SEX'; use a CT short name"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "study.yaml",
            "  - {visitnum: 3, visit: MONTH 1,",
            "  - {visit: MONTH 1,",
            "study.yaml:51: visits.2.visitnum: Field required; see docs/mapping-language.md",
        ),
        (
            "raw/conmeds.csv",
            "16:45,No,1",
            "16:45,No,2",
            "raw/conmeds.csv, row 5, column Related AE No.: RELREC: this CM record points to AE "
            "with AESPID=2, which does not exist; fix the key or the AE data",
        ),
    ],
)
def test_bad_design_and_relationships(tmp_path: Path, file: str, old: str, new: str, expected: str):
    study = copy_study(tmp_path)
    replace_in(study / file, old, new)
    fails_with(study, tmp_path, expected)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "study.yaml",
            "RFXSTDTC: {first: [EX.EXSTDTC]}",
            "RFXSTDTC: {first: [XX.XXSTDTC]}",
            "study.yaml:59: 'XX.XXSTDTC' names domain XX, which no spec in 'domains' maps",
        ),
        (
            "study.yaml",
            "    start: RFXSTDTC\n",
            "    start: RFXSTDT\n",
            "study.yaml:32: element start 'RFXSTDT' is not a DM variable; use e.g. RFXSTDTC",
        ),
        (
            "mappings/vs.yaml",
            "flags: [LOBXFL, BLFL]",
            "flags: [LOBXFL, FOO]",
            "mappings/vs.yaml:3: baseline flag FOO: VS has no variable VSFOO; use LOBXFL and/or "
            "BLFL",
        ),
        (
            "mappings/dm.yaml",
            "      ARMCD: {copy: Arm}\n",
            "",
            "mappings/dm.yaml:3: study.yaml defines arms, but the DM spec does not map ARMCD; "
            "map ARMCD (the planned arm code) in the DM spec",
        ),
        (
            "mappings/ae.yaml",
            "  AEINFRL: {label: Infusion Related Reaction, origin: Collected}",
            "  AEINFRL: {label: Infusion Related Reaction, origin: Collected}\n"
            "  AESER: {label: Serious}",
            "mappings/ae.yaml:46: AESER is a standard AE variable, not a supplemental qualifier; "
            "map it as a variable instead",
        ),
        (
            "mappings/dm.yaml",
            "      - table: completion",
            "      - table: complete",
            "mappings/dm.yaml:7: table 'complete' is neither a source in study.yaml nor a mapped "
            "domain; name a source or a domain in 'domains'",
        ),
        (
            "mappings/ae.yaml",
            "format: dd/mm/yyyy, time: Start time",
            "format: dd/yyyy, time: Start time",
            "mappings/ae.yaml:41: sources.0.variables.AESTDTC.date.format: date format 'dd/yyyy' "
            "needs dd, mm (or mmm) and yyyy, year first or last; see docs/mapping-language.md",
        ),
    ],
)
def test_names_that_point_at_nothing(tmp_path: Path, file: str, old: str, new: str, expected: str):
    study = copy_study(tmp_path)
    replace_in(study / file, old, new)
    fails_with(study, tmp_path, expected)


def test_a_rerun_leaves_no_file_of_the_earlier_run(tmp_path: Path):
    study = copy_study(tmp_path)
    out = tmp_path / "out"
    assert run_cli("convert", study, "--out", out).exit_code == 0
    assert (out / "sdtm" / "nv.xpt").exists()
    replace_in(study / "study.yaml", " nv.yaml,", "")
    assert run_cli("convert", study, "--out", out).exit_code == 0
    assert not (out / "sdtm" / "nv.xpt").exists()
    assert sorted(p.name for p in out.iterdir()) == [
        "lineage",
        "reconciliation.csv",
        "sdtm",
        "validation",
    ]


def test_a_failed_rerun_keeps_the_earlier_output(tmp_path: Path):
    study = copy_study(tmp_path)
    out = tmp_path / "out"
    assert run_cli("convert", study, "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in (out / "sdtm").iterdir()}
    replace_in(study / "raw/adverse_events.csv", "mild headache after infusion", "x" * 201)
    assert run_cli("convert", study, "--out", out).exit_code == 2
    assert {p.name: p.read_bytes() for p in (out / "sdtm").iterdir()} == before


def test_an_empty_domain_is_not_written(tmp_path: Path):
    study = copy_study(tmp_path)
    path = study / "raw/adverse_events.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    replace_in(study / "raw/conmeds.csv", "16:45,No,1", "16:45,No,")
    replace_in(study / "raw/conmeds.csv", "15:00,No,1", "15:00,No,")
    result = run_cli("convert", study, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "out" / "sdtm").iterdir()}
    assert "ae.xpt" not in names and "suppae.xpt" not in names and "relrec.xpt" not in names


def test_a_study_without_visit_records_converts_without_sv(tmp_path: Path):
    """DM and EX only: no dataset has a visit with a date, so there is no SV (this used to
    end in an internal error)."""
    study = copy_study(tmp_path)
    replace_in(
        study / "study.yaml",
        "domains: [dm.yaml, ae.yaml, cm.yaml, ex.yaml, ds.yaml, lb.yaml, qs.yaml, ft.yaml, "
        "nv.yaml, vs.yaml]",
        "domains: [dm.yaml, ex.yaml]",
    )
    result = run_cli("convert", study, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    names = sorted(p.stem for p in (tmp_path / "out" / "sdtm").glob("*.xpt"))
    assert names == ["dm", "ex", "se", "ta", "te", "ti", "ts", "tv"]


def test_a_push_checkpoint_survives_a_new_convert_with_fhir(tmp_path: Path):
    """The checkpoint is keyed by each bundle's hash: a re-run that rebuilds the same bundles
    must not make the next push send them all again."""
    out = tmp_path / "out"
    assert run_cli("convert", STUDY, "--out", out, "--format", "xpt,fhir").exit_code == 0
    checkpoint = out / "fhir" / ".push-checkpoint.json"
    checkpoint.write_text('{"http://fhir.example/fhir": {"bundle-0001.json": "abc"}}')
    assert run_cli("convert", STUDY, "--out", out, "--format", "xpt,fhir").exit_code == 0
    assert checkpoint.read_text() == '{"http://fhir.example/fhir": {"bundle-0001.json": "abc"}}'
    assert run_cli("convert", STUDY, "--out", out, "--format", "xpt").exit_code == 0
    assert not (out / "fhir").exists()  # no FHIR asked for: no FHIR of an earlier run left
