"""The PLMSC folder checked against its own define.xml (clean), then against an edited
define.xml and renamed files, each defect reported by its rule with the place it concerns."""

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import STUDY, run_cli
from trialbridge import api
from trialbridge.errors import UserError
from trialbridge.sdtm.define_read import read_define


@pytest.fixture(scope="module")
def sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt",))
    return out / "sdtm"


def _findings(folder: Path, out: Path) -> list[tuple]:
    run_cli("validate", folder, "--out", out)
    report = json.loads((out / "validation.json").read_text())
    return [(f["rule"], f["dataset"], f["variable"], f["value"]) for f in report["findings"]]


def test_the_plmsc_define_describes_its_datasets(sdtm: Path):
    define = read_define(sdtm / "define.xml")
    assert sorted(define) == sorted(p.stem.upper() for p in sdtm.glob("*.xpt"))
    ae = define["AE"]
    assert (ae.label, ae.href) == ("Adverse Events", "ae.xpt")
    sex = define["DM"].variable("SEX")
    assert (sex.data_type, sex.length, sex.mandatory, sex.terms) == ("text", 1, True, ("F", "M"))
    assert not define["DM"].variable("AGE").mandatory


def test_comments_in_a_define_are_read_past(sdtm: Path, tmp_path: Path):
    """Found beside `make fuzz`'s ODM finding (etree.QName on what is no element): a comment
    inside an ItemGroupDef or a CodeList ended in ValueError."""
    text = (sdtm / "define.xml").read_text()
    text = text.replace("<ItemRef ", "<!-- checked --><ItemRef ")
    text = text.replace("<CodeListItem ", "<?review ok?><CodeListItem ")
    text = text.replace("<EnumeratedItem ", "<!-- as collected --><EnumeratedItem ")
    assert text.count("<!--") > 100
    (tmp_path / "define.xml").write_text(text)
    assert read_define(tmp_path / "define.xml") == read_define(sdtm / "define.xml")


def test_numbers_too_long_for_a_length_and_many_variables(sdtm: Path, tmp_path: Path):
    """A Length of 5,000 digits ended in ValueError (int() refuses more than 4,300); 20,000
    ItemRefs were checked for repeats against every earlier one (7 s; now a set: read here,
    with its repeats still refused by the corpus)."""
    text = (sdtm / "define.xml").read_text()
    (tmp_path / "define.xml").write_text(text.replace('Length="1"', f'Length="{"9" * 5000}"', 1))
    with pytest.raises(UserError) as caught:
        read_define(tmp_path / "define.xml")
    assert caught.value.line().endswith(
        f"has Length '{'9' * 60}...', not a whole number of at most 9 digits; correct define.xml"
    )
    group = text.index(">", text.index("<ItemGroupDef ")) + 1  # its first child
    many = "".join(
        f'<ItemRef ItemOID="IT.X{n}" OrderNumber="{n}" Mandatory="No"/>' for n in range(20_000)
    )
    defs = "".join(
        f'<ItemDef OID="IT.X{n}" Name="X{n}" DataType="text" Length="1"/>' for n in range(20_000)
    )
    big = text[:group] + many + text[group:]
    big = big.replace("<ItemDef ", defs + "<ItemDef ", 1)
    (tmp_path / "define.xml").write_text(big)
    defined = read_define(tmp_path / "define.xml")
    assert max(len(d.variables) for d in defined.values()) > 20_000


def test_no_define_finding_on_the_plmsc_output(sdtm: Path, tmp_path: Path):
    rules = {f[0] for f in _findings(sdtm, tmp_path)}
    assert not rules & {f"TB{n:04d}" for n in range(45, 63)}


def test_an_edited_define_and_a_renamed_file_are_reported(sdtm: Path, tmp_path: Path):
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm, folder)
    text = (folder / "define.xml").read_text()
    text = text.replace('CodedValue="M"', 'CodedValue="MALE"', 1)
    text = text.replace(">Reported Term for the Adverse Event<", ">Reported Term<", 1)
    (folder / "define.xml").write_text(text)
    (folder / "ts.xpt").rename(folder / "ts_final.xpt")
    found = _findings(folder, tmp_path / "out")
    assert ("TB0050", "AE", "AETERM", "Reported Term for the Adverse Event") in found
    assert ("TB0057", "TS", "(file)", "ts_final.xpt") in found
    males = [f for f in found if f[0] == "TB0054"]
    assert males and {(d, v, value) for _, d, v, value in males} == {("DM", "SEX", "M")}


def test_a_broken_define_is_one_line(sdtm: Path, tmp_path: Path):
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm, folder)
    (folder / "define.xml").write_text('<?xml version="1.0"?>\n<ODM>\n  <Study>\n</ODM>\n')
    result = run_cli("validate", folder, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"error: {folder / 'define.xml'}:4:7: define.xml is not well-formed XML: Opening and"
        " ending tag mismatch: Study line 3 and ODM; fix the XML or remove define.xml from the"
        " folder"
    )
    assert not (tmp_path / "out" / "validation.json").exists()


def test_an_entity_in_define_is_refused_before_parsing(sdtm: Path, tmp_path: Path):
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm, folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    text = (folder / "define.xml").read_text()
    text = text.replace(
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE ODM [<!ENTITY x SYSTEM "
        f'"file://{secret}">]>',
    )
    text = text.replace(">Adverse Events<", ">&x;<", 1)
    (folder / "define.xml").write_text(text)
    result = run_cli("validate", folder, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {folder / 'define.xml'}:2: define.xml has a DOCTYPE declaration, which"
        " trialbridge does not read (entities are refused); remove the DOCTYPE: Define-XML uses"
        " none\n"
    )
    assert "TOP SECRET" not in result.output
    assert not (tmp_path / "out").exists()


def test_a_doctype_in_a_comment_of_define_is_no_dtd(sdtm: Path, tmp_path: Path):
    """Only the prolog is searched, comments and processing instructions left out: a define.xml
    whose comments mention a DOCTYPE or an ENTITY is read (a byte search refused it)."""
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm, folder)
    text = (folder / "define.xml").read_text()
    declaration = "<?xml version='1.0' encoding='UTF-8'?>"
    comment = '\n<!-- was: <!DOCTYPE ODM SYSTEM "define.dtd"> <!ENTITY x "y"> -->'
    text = text.replace(declaration, declaration + comment)
    (folder / "define.xml").write_text(text.replace("</ODM>", "<!-- <!DOCTYPE x> --></ODM>"))
    result = run_cli("validate", folder, "--out", tmp_path / "out")
    assert "DOCTYPE" not in result.output and result.exit_code in (0, 1), result.output
    assert (tmp_path / "out" / "validation.json").exists()
