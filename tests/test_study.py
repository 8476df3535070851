"""study.yaml: `extends` (a variant folder inherits every key it does not set), every
mistake of a file listed, values written as escapes and dates off the calendar refused."""

import shutil
from pathlib import Path

import pytest

from trialbridge.build import build
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.study import load_study

BASE = Path(__file__).parent.parent / "fixtures" / "plmsc-spms"


def _variant(tmp_path: Path, text: str) -> Path:
    shutil.copytree(BASE, tmp_path / "base")
    variant = tmp_path / "variant"
    variant.mkdir()
    (variant / "study.yaml").write_text(text)
    return variant


def test_variant_inherits_keys_and_resolves_paths_where_they_were_set(tmp_path: Path):
    variant = _variant(
        tmp_path,
        "extends: ../base/study.yaml\n"
        "sources:\n  - {name: demographics, file: raw/dm.csv}\n"
        "domains: [dm.yaml]\n",
    )
    (variant / "mappings").mkdir()
    (variant / "mappings" / "dm.yaml").write_text("domain: DM\n")
    folder = load_study(variant)
    assert folder.study.studyid == "PLMSC-SPMS"  # inherited
    assert [s.name for s in folder.study.sources] == ["demographics"]  # overridden
    assert folder.source_path(folder.study.sources[0]) == variant / "raw" / "dm.csv"
    assert folder.spec_path("dm.yaml") == variant / "mappings" / "dm.yaml"
    assert folder.spec_path("ae.yaml").resolve() == tmp_path / "base" / "mappings" / "ae.yaml"
    assert folder.spec_shown("ae.yaml") == "../base/mappings/ae.yaml"
    assert folder.where("domains", 0) == "study.yaml:4"
    assert folder.where("trial_summary", 0) == "../base/study.yaml:70"


def test_inherited_sources_stay_relative_to_the_base(tmp_path: Path):
    variant = _variant(tmp_path, "extends: ../base/study.yaml\nstudyid: OTHER\n")
    folder = load_study(variant)
    source = folder.study.source("vitals")
    assert folder.source_path(source).resolve() == tmp_path / "base" / "raw" / "vitals.csv"


def test_an_error_in_an_inherited_key_names_the_base_file(tmp_path: Path):
    variant = _variant(tmp_path, "extends: ../base/study.yaml\n")
    study = tmp_path / "base" / "study.yaml"
    study.write_text(study.read_text().replace("planned_subjects: 5", "planned_subjects: five"))
    with pytest.raises(UserError) as caught:
        load_study(variant)
    assert caught.value.line() == (
        "../base/study.yaml:68: planned_subjects: Input should be a valid integer, unable to "
        "parse string as an integer; see docs/mapping-language.md"
    )


def test_extends_a_missing_file(tmp_path: Path):
    variant = _variant(tmp_path, "studyid: X\nextends: ../nowhere/study.yaml\n")
    with pytest.raises(UserError) as caught:
        load_study(variant)
    assert caught.value.line() == (
        "study.yaml:2: extends '../nowhere/study.yaml': no such file; "
        "give the path of the base study.yaml"
    )


def test_extends_one_level_only(tmp_path: Path):
    variant = _variant(tmp_path, "extends: ../base/study.yaml\n")
    base = tmp_path / "base" / "study.yaml"
    base.write_text("extends: ../other/study.yaml\n" + base.read_text())
    with pytest.raises(UserError) as caught:
        load_study(variant)
    assert caught.value.line() == (
        "study.yaml:1: extends '../base/study.yaml', which itself extends another study; "
        "extend the base study directly: one level only"
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{name: labs, file: raw/x.odm.xml}", "an ODM source needs 'item_group' or 'table"),
        (
            "{name: labs, file: raw/r.csv, format: redcap, instrument: labs}",
            "a REDCap source needs 'dictionary'",
        ),
        ("{name: labs, file: raw/x.xml, item_group: IG.X, sheet: A}", "'sheet' does not apply"),
        (
            "{name: s, file: x.xml, item_group: IG.X, table: subjects}",
            "an ODM source needs 'item_group' or 'table: subjects', not both",
        ),
        (
            "{name: s, file: x.xml, table: subjects, split: [race]}",
            "'split' applies to an item group, not to 'table: subjects'",
        ),
        ("{name: s, file: x.csv, lenient: true}", "'lenient' does not apply to a CSV source"),
        (
            "{name: s, file: r.csv, format: redcap, instrument: a, dictionary: d.csv, split: [x]}",
            "'split' does not apply to a REDCap source",
        ),
    ],
)
def test_source_options_must_fit_the_format(tmp_path: Path, source: str, message: str):
    variant = _variant(tmp_path, f"extends: ../base/study.yaml\nsources:\n  - {source}\n")
    with pytest.raises(UserError) as caught:
        load_study(variant)
    assert caught.value.line().startswith("study.yaml:3: sources.0: " + message)


def test_a_variant_converts_with_specs_it_inherits(tmp_path: Path):
    """Found while setting up `make fuzz`'s spec target: a variant that maps some domains with
    the base's own specs ended in KeyError 'mappings/dm.yaml' (the spec is
    ../base/mappings/dm.yaml)."""
    variant = _variant(
        tmp_path, "extends: ../base/study.yaml\ndomains: [ae.yaml, dm.yaml, ex.yaml]\n"
    )
    (variant / "mappings").mkdir()
    (variant / "mappings" / "ae.yaml").write_text((BASE / "mappings" / "ae.yaml").read_text())
    built = build(load_study(variant), shipped_terminology())
    assert list(built.datasets)[:4] == ["AE", "SUPPAE", "DM", "EX"]
    assert len(built.datasets["AE"].frame) == 2
    assert len(built.datasets["DM"].frame) == 5
    assert len(built.datasets["EX"].frame) == 5


def test_every_mistake_in_one_item_is_listed(tmp_path: Path):
    """Two mistakes in one list item (a key missing, a key unknown) are two problems (they
    were one: problems were told apart by the first two parts of their path)."""
    shutil.copytree(BASE, tmp_path / "base")
    study = tmp_path / "base" / "study.yaml"
    text = study.read_text().replace("country: IRN", "bogus: 1", 1)
    study.write_text(text.replace("planned_subjects: 5", "planned_subjects: [5]"))
    with pytest.raises(UserErrors) as caught, collecting():
        load_study(tmp_path / "base")
    assert [e.line() for e in caught.value.problems.kept] == [
        "study.yaml:18: sites.0.country: Field required; see docs/mapping-language.md",
        "study.yaml:18: sites.0.bogus: Extra inputs are not permitted; "
        "see docs/mapping-language.md",
        "study.yaml:68: planned_subjects: Input should be a valid integer; "
        "see docs/mapping-language.md",
    ]


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        (
            "studyid: PLMSC-SPMS",
            'studyid: "PLMSC\\e[31m-SPMS"',
            "study.yaml:STUDYID: a value holds the control character U+001B (written as an "
            "escape); remove it: no name or value needs one",
        ),
        (
            "data_cutoff: 2022-01-31",
            'data_cutoff: "2022-01-31\\n"',
            "study.yaml:CUTOFF: data_cutoff: '2022-01-31\\x0a' is not an ISO 8601 date "
            "(yyyy-mm-dd); see docs/mapping-language.md",
        ),
        (
            "data_cutoff: 2022-01-31",
            "data_cutoff: 2022-13-45",
            "study.yaml:CUTOFF: data_cutoff: '2022-13-45' is not an ISO 8601 date "
            "(yyyy-mm-dd); see docs/mapping-language.md",
        ),
    ],
)
def test_escaped_control_characters_and_dates_off_the_calendar(
    tmp_path: Path, old: str, new: str, line: str
):
    shutil.copytree(BASE, tmp_path / "base")
    study = tmp_path / "base" / "study.yaml"
    text = study.read_text()
    assert old in text
    study.write_text(text.replace(old, new, 1))
    number = {
        "STUDYID": text[: text.index("studyid:")].count("\n") + 1,
        "CUTOFF": text[: text.index("data_cutoff:")].count("\n") + 1,
    }
    with pytest.raises(UserError) as caught:
        load_study(tmp_path / "base")
    expected = line.replace("STUDYID", str(number["STUDYID"])).replace(
        "CUTOFF", str(number["CUTOFF"])
    )
    assert caught.value.line() == expected
