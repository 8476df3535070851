"""Controlled terminology: the shipped subset and a user-supplied NCI EVS release file."""

from pathlib import Path

import pytest

from trialbridge.errors import UserError
from trialbridge.sdtm.ct import load_terminology, release_of, shipped_terminology

HEADER = (
    "Code\tCodelist Code\tCodelist Extensible (Yes/No)\tCodelist Name\tCDISC Submission Value\t"
    "CDISC Synonym(s)\tCDISC Definition\tNCI Preferred Term\n"
)


def test_shipped_codelists_carry_nci_codes_and_extensibility():
    ct = shipped_terminology()
    assert ct.version == "2025-03-28"
    sex = ct.get("SEX")
    assert (sex.code, sex.extensible, sex.terms["F"]) == ("C66731", False, "C16576")
    unit = ct.get("UNIT")
    assert unit.extensible and unit.code == "C71620"
    assert ct.get("LBTESTCD").terms["INTLK10"] == "C74806"
    assert ct.get("EDSS01TC").terms == {"EDSS0101": "C112550"}


def test_synonyms_and_case_resolve_to_submission_values():
    unit = shipped_terminology().get("UNIT")
    assert unit.normalise("pg/mL") == "ng/L"
    assert unit.normalise("G/DL") == "g/dL"
    assert unit.normalise("no such unit") is None


def test_a_user_release_file_replaces_the_shipped_one(tmp_path: Path):
    path = tmp_path / "SDTM Terminology.txt"
    path.write_text(
        HEADER
        + "C66731\t\tNo\tSex\tSEX\tSex\tdef\tCDISC SDTM Sex Terminology\n"
        + "C16576\tC66731\tNo\tSex\tF\tFemale\tdef\tFemale\n"
        + "C20197\tC66731\tNo\tSex\tM\tMale\tdef\tMale\n"
    )
    ct = load_terminology(path)
    assert ct.version == "SDTM Terminology"  # no release date anywhere in the path
    assert ct.get("SEX").terms == {"F": "C16576", "M": "C20197"}
    assert ct.get("SEX").normalise("female") == "F"
    assert ct.get("UNIT") is None


def test_a_file_that_is_not_an_evs_export_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "ct.txt"
    path.write_text("a\tb\n1\t2\n")
    with pytest.raises(UserError, match="not an NCI EVS terminology file: no column"):
        load_terminology(path)


def test_the_release_date_comes_from_the_path(tmp_path: Path):
    folder = tmp_path / "SDTM_CT_2024-09-27"
    folder.mkdir()
    assert release_of(folder / "SDTM Terminology.txt") == "2024-09-27"
    assert release_of(tmp_path / "SDTM Terminology 2025-03-28.txt") == "2025-03-28"
