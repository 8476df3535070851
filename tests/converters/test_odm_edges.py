"""ODM exports at the edges: a foreign namespace or root is refused (it used to read as an
empty export), parser limits and broken bytes are one line each, every value that does not
fit is named at its ItemData line in one run, and what the reader leaves out is counted."""

from pathlib import Path

import pytest

from trialbridge.converters import odm_stream
from trialbridge.converters.odm import read_odm
from trialbridge.converters.sources import ROW
from trialbridge.errors import KEEP_PER_KIND, UserError, UserErrors, collecting
from trialbridge.study import Source

SMALL = Path(__file__).parent / "odm" / "small.odm.xml"
LAB = Source(name="lab", file="export.xml", item_group="IG.LAB")
NS = "http://www.cdisc.org/ns/odm/v1.3"
FIX_VALUE = "fix the value or the metadata"


def _small() -> str:
    return SMALL.read_text()


def _read(tmp_path: Path, text: str | bytes):
    path = tmp_path / "export.xml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return read_odm(tmp_path, [LAB])["lab"]


def _error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(UserError) as caught:
        _read(tmp_path, text)
    return caught.value.line()


# --- what the file is --------------------------------------------------------------------------


def test_a_foreign_namespace_is_refused(tmp_path: Path):
    text = _small().replace(NS, "http://www.cdisc.org/ns/odm/v2.0")
    assert _error(tmp_path, text) == (
        "export.xml, line 2: the ODM element is in namespace 'http://www.cdisc.org/ns/odm/v2.0', "
        f"not in the ODM 1.3 namespace '{NS}'; export the data as CDISC ODM 1.3.2 (ODM 1.2 and "
        "2.0 files are not read)"
    )
    assert _error(tmp_path, _small().replace(f' xmlns="{NS}"', "")).startswith(
        "export.xml, line 2: the ODM element is in no namespace, not in the ODM 1.3 namespace"
    )


def test_elements_of_another_namespace_are_not_read(tmp_path: Path):
    """A vendor's element named like an ODM one is an extension, not a record."""
    vendor = (
        '<v:ItemGroupData xmlns:v="urn:vendor" ItemGroupOID="IG.LAB">'
        '<v:ItemData ItemOID="I.HGB" Value="99"/></v:ItemGroupData>'
    )
    text = _small().replace("</FormData>", vendor + "</FormData>", 1)
    assert _read(tmp_path, text)["hgb"].dropna().tolist() == ["13.1", "12.0"]


def test_a_root_that_is_not_odm(tmp_path: Path):
    text = '<?xml version="1.0"?>\n<define:ODM xmlns:define="urn:x"/>\n'
    assert _error(tmp_path, text.replace("define:ODM", "Study")) == (
        "export.xml, line 2: the root element is Study, not ODM; give the study's CDISC ODM "
        "1.3.2 export (its root element is ODM)"
    )


def test_truncated_and_empty_files(tmp_path: Path):
    text = _small()
    assert _error(tmp_path, text[: text.index("</SubjectData>")]) == (
        "export.xml, line 45, column 5: the file ends inside element SubjectData (opened at "
        "line 30) before its XML is complete: it is cut short; copy or export the file again: "
        "the copy is incomplete"
    )
    cut = text[: text.index('Value="13.1"') + 8]
    assert _error(tmp_path, cut) == (
        "export.xml, line 36, column 47: the file ends before its XML is complete: it is cut "
        "short; copy or export the file again: the copy is incomplete"
    )
    assert (
        _error(tmp_path, "") == "export.xml: the file holds no XML element; export the file again"
    )


def test_a_mistake_on_the_last_line_is_not_a_cut(tmp_path: Path):
    """Only an error at the very end of the file says it is cut short: ODM written on one line
    (as some EDCs export it) was called cut short whatever its mistake."""
    one_line = " ".join(line.strip() for line in _small().splitlines()[1:])
    repeated = one_line.replace('OID="IG.LAB"', 'OID="IG.LAB" OID="IG.LAB"', 1)
    column = repeated.index(">", repeated.index('OID="IG.LAB" OID')) + 1  # the tag's end
    assert _error(tmp_path, repeated) == (
        f"export.xml, line 1, column {column}: malformed XML: Attribute OID redefined; fix the "
        "file or export it again from the EDC"
    )
    assert _error(tmp_path, one_line + "<ODM/>") == (
        f"export.xml, line 1, column {len(one_line) + 1}: malformed XML: Extra content at the "
        "end of the document; fix the file or export it again from the EDC"
    )
    cut = one_line[: one_line.index('Value="13.1"') + 8]
    assert _error(tmp_path, cut) == (
        f"export.xml, line 1, column {len(cut) + 1}: the file ends before its XML is complete: "
        "it is cut short; copy or export the file again: the copy is incomplete"
    )


def test_parser_limits_are_one_line_and_fast(tmp_path: Path):
    deep = "<X>" * 300 + "</X>" * 300
    assert _error(tmp_path, _small().replace("<ClinicalData", deep + "<ClinicalData", 1)) == (
        "export.xml, line 29, column 770: elements nest more than 256 deep (the XML parser's "
        "limit); no ODM export looks like this: check the file"
    )
    huge = _small().replace('Value="13.1"', 'Value="' + "1" * 12_000_000 + '"', 1)
    assert _error(tmp_path, huge) == (
        "export.xml: a value or name is longer than the XML parser's limit of 10 MB; no ODM "
        "export looks like this: check the file"
    )


def test_a_long_value_under_the_parser_limit(tmp_path: Path):
    text = _small().replace(
        '<ItemDef OID="I.HGB" Name="hgb" DataType="float"/>',
        '<ItemDef OID="I.HGB" Name="hgb" DataType="text"/>',
    )
    text = text.replace('Value="13.1"', 'Value="' + "x" * 2_000_000 + '"', 1)
    assert _error(tmp_path, text) == (
        "export.xml, line 36, item hgb: the value is 2,000,000 bytes long, more than the limit "
        "of 1,048,576; no CRF value is this long: check the export (an unclosed quote, a binary "
        "file?)"
    )


def test_encodings_that_contradict_the_bytes(tmp_path: Path):
    assert _error(tmp_path, _small().encode("utf-16-le")) == (
        "export.xml: the file holds NUL bytes (0x00) and no byte order mark: UTF-16 without its "
        "mark, or not a text file; save the export as UTF-8"
    )
    declared = _small().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert _error(tmp_path, declared) == (
        "export.xml, line 1: the XML declaration says encoding UTF-16, but the bytes are not "
        "UTF-16 or UTF-32; save the export as UTF-8 and declare encoding UTF-8"
    )
    utf16 = _small().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert len(_read(tmp_path, utf16)) == 3


def test_a_bad_byte_on_a_line_longer_than_a_read_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The byte is found past the block the line starts in (it was looked for in that block
    only, so the line said the parser's words instead)."""
    monkeypatch.setattr(odm_stream, "_SCAN", 16)
    text = _small().encode().replace(b'Value="13.1"', b'Value="13.\xff1"')
    assert _error(tmp_path, text) == (
        "export.xml, line 36, column 49: byte 0xFF is not valid UTF-8; save the export as UTF-8, "
        "or declare its encoding in the XML declaration"
    )


def test_utf_16_declared_without_its_byte_order_mark(tmp_path: Path):
    """Found by `make fuzz`: the decoder refuses such a stream as a whole (UnicodeError, no
    byte named) while the bad byte was looked for."""
    data = b'<?yml v encoding="UTF-16"\xadM>\n'  # as the fuzzer cut it down
    assert _error(tmp_path, data) == (
        "export.xml, line 1, column 26: Invalid bytes in character encoding; save the export "
        "as UTF-8, or declare its encoding in the XML declaration"
    )


def test_a_prolog_too_long_to_look_through(tmp_path: Path):
    text = "<!--" + "x" * 1_100_000 + "-->\n" + _small().split("?>", 1)[1]
    assert _error(tmp_path, text) == (
        "export.xml: no root element in the first 1,048,576 bytes; an export starts with its "
        "root element: check that this is the XML export"
    )


# --- the records -------------------------------------------------------------------------------


def test_every_misfit_is_reported_at_its_item_line_in_one_run(tmp_path: Path):
    text = _small().replace('Value="13.1"', 'Value="13,1"').replace('Value="12.0"', 'Value="1 2"')
    text = text.replace('ItemOID="I.SEX" Value="2"', 'ItemOID="I.SEX" Value="7"')
    with pytest.raises(UserErrors), collecting() as problems:
        _read(tmp_path, text)
    assert [e.line() for e in problems.kept] == [
        "export.xml, line 37: value '7' of item sex (I.SEX) is not in its CodeList CL.SEX "
        "(1, 2); the ItemDef declares DataType integer: " + FIX_VALUE,
        "export.xml, line 36: value '13,1' of item hgb (I.HGB) is not a valid float; the "
        "ItemDef declares DataType float: " + FIX_VALUE,
        "export.xml, line 51: value '1 2' of item hgb (I.HGB) is not a valid float; the "
        "ItemDef declares DataType float: " + FIX_VALUE,
    ]


def test_300_bad_values_are_all_counted(tmp_path: Path):
    group = (
        '<ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="{n}">\n'
        '<ItemData ItemOID="I.DATE" Value="2021-02-{day}"/>\n</ItemGroupData>\n'
    )
    groups = "".join(group.format(n=n + 10, day=29 + n % 3) for n in range(300))
    text = _small().replace("</FormData>", groups + "</FormData>", 1)
    with pytest.raises(UserErrors), collecting() as problems:
        _read(tmp_path, text)
    assert problems.total == 300  # 2021-02-29, -30 and -31: none is a day
    assert len(problems.kept) == KEEP_PER_KIND  # the rest counted
    first, last = problems.kept[0].line(), problems.kept[-1].line()
    assert first.startswith("export.xml, line 44: value '2021-02-29' of item lbdat (I.DATE)")
    assert last.startswith(f"export.xml, line {44 + 3 * 199}: value '2021-02-30' of item")


def test_a_control_character_in_a_value(tmp_path: Path):
    text = _small().replace(
        '<ItemDef OID="I.HGB" Name="hgb" DataType="float"/>',
        '<ItemDef OID="I.HGB" Name="hgb" DataType="text"/>',
    )
    assert _error(tmp_path, text.replace('Value="12.0"', 'Value="12&#x85;0"')) == (
        "export.xml, line 51, item hgb: the value holds the control character U+0085; remove "
        "it from the source value: SDTM and FHIR values are printable text"
    )


def test_a_control_character_in_a_key_is_reported_at_its_records(tmp_path: Path):
    # key columns are checked by their few distinct names; one that is bad is then looked
    # for record by record, so the error still names the first record's line
    text = _small().replace('SubjectKey="002"', 'SubjectKey="00&#x85;2"')
    assert _error(tmp_path, text) == (
        "export.xml, line 49, item SubjectKey: the value holds the control character U+0085;"
        " remove it from the source value: SDTM and FHIR values are printable text"
    )


def test_reference_data_is_counted_and_a_misplaced_group_refused(tmp_path: Path):
    reference = (
        '  <ReferenceData StudyOID="S.1" MetaDataVersionOID="MDV.1">\n'
        '    <ItemGroupData ItemGroupOID="IG.LAB"><ItemData ItemOID="I.HGB" Value="1"/>'
        "</ItemGroupData>\n  </ReferenceData>\n"
    )
    frame = _read(tmp_path, _small().replace("  <ClinicalData", reference + "  <ClinicalData", 1))
    assert frame[ROW].tolist() == [37, 42, 52]
    assert frame.attrs == {
        "rows_read": 4,
        "rows_skipped": {
            "blank": 0,
            "reference data, not a subject's": 1,
            "removed or merged by a transaction": 0,
        },
    }
    misplaced = _small().replace(
        '<FormData FormOID="F.LAB">\n          <ItemGroupData', "<ItemGroupData", 1
    )
    misplaced = misplaced.replace("</ItemGroupData>\n        </FormData>", "</ItemGroupData>", 1)
    assert _error(tmp_path, misplaced).startswith(
        "export.xml, line 33: ItemGroupData inside StudyEventData, not inside a FormData: ODM "
        "2.0 nests data so, ODM 1.3 does not; in ODM 1.3.2 a subject's ItemGroupData sits in "
        "SubjectData / StudyEventData / FormData: export the file again from the EDC as ODM 1.3.2"
    )


def test_clinical_data_of_another_metadata_version(tmp_path: Path):
    text = _small()
    second = text[text.index("  <ClinicalData") : text.index("</ODM>")]
    second = second.replace('MetaDataVersionOID="MDV.1"', 'MetaDataVersionOID="MDV.2"')
    second = second.replace('SubjectKey="00', 'SubjectKey="10')
    assert _error(tmp_path, text.replace("</ODM>", second + "</ODM>")) == (
        "export.xml, line 57: ClinicalData of study 'S.1' refers to MetaDataVersion 'MDV.2', "
        "which the file does not hold; the file has (study/version) S.1/MDV.1"
    )
