"""ODM 1.3.2 reader: tables by item name with ODM keys and line lineage; every bad export is
one line naming the place."""

from pathlib import Path

import pytest

from trialbridge.converters import odm_stream
from trialbridge.converters.odm import read_odm
from trialbridge.converters.sources import FILE, ROW
from trialbridge.errors import UserError
from trialbridge.study import Source

SMALL = Path(__file__).parent / "odm" / "small.odm.xml"
LAB = Source(name="lab", file="export.xml", item_group="IG.LAB")


def _read(tmp_path: Path, text: str, source: Source = LAB) -> dict:
    (tmp_path / "export.xml").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return read_odm(tmp_path, [source])


def _error(tmp_path: Path, text: str | bytes, source: Source = LAB) -> str:
    with pytest.raises(UserError) as caught:
        _read(tmp_path, text, source)
    return caught.value.line()


def _small() -> str:
    return SMALL.read_text()


def test_table_has_odm_keys_then_items_by_name_in_item_ref_order():
    frame = read_odm(SMALL.parent, [Source(name="lab", file=SMALL.name, item_group="IG.LAB")])[
        "lab"
    ]
    assert list(frame.columns[:12]) == [
        "StudyOID",
        "SubjectKey",
        "SiteRef",
        "StudyEventOID",
        "StudyEventRepeatKey",
        "FormOID",
        "FormRepeatKey",
        "ItemGroupOID",
        "ItemGroupRepeatKey",
        "lbdat",
        "sex",  # OrderNumber 2 comes before hgb's 3, whatever the document order
        "hgb",
    ]
    rows = frame.drop(columns=[FILE, ROW, "__column"]).astype(object)
    rows = rows.where(rows.notna(), None).values.tolist()
    assert [row[:3] for row in rows] == [
        ["S.1", "001", "01"],
        ["S.1", "001", "01"],
        ["S.1", "002", None],
    ]
    assert [row[3:] for row in rows] == [
        ["SE.SCR", None, "F.LAB", None, "IG.LAB", "1", "2021-06-12", "2", "13.1"],
        ["SE.SCR", None, "F.LAB", None, "IG.LAB", "2", "2021-06-13", None, None],
        ["SE.UNS", "2", "F.LAB", None, "IG.LAB", "1", "2021-07-01", None, "12.0"],
    ]
    assert frame[ROW].tolist() == [34, 39, 49]  # the ItemGroupData start tags
    assert frame[FILE].tolist() == ["small.odm.xml"] * 3


def test_sources_on_one_export_are_read_in_one_pass(tmp_path: Path, monkeypatch):
    passes = []
    real = odm_stream.stream

    def counted(*args, **kwargs):
        passes.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr("trialbridge.converters.odm.stream", counted)
    (tmp_path / "export.xml").write_text(_small())
    other = Source(name="again", file="export.xml", item_group="IG.LAB")
    tables = read_odm(tmp_path, [LAB, other])
    assert passes == [{"IG.LAB"}]
    assert len(tables["lab"]) == len(tables["again"]) == 3


def test_metadata_from_another_file(tmp_path: Path):
    text = _small()
    start, end = text.index("<MetaDataVersion"), text.index("</MetaDataVersion>") + 18
    (tmp_path / "meta.xml").write_text(text[: text.index("<ClinicalData")] + "</ODM>\n")
    data_only = text[:start] + text[end:]
    source = Source(name="lab", file="export.xml", item_group="IG.LAB", metadata="meta.xml")
    frame = _read(tmp_path, data_only, source)["lab"]
    assert frame["hgb"].tolist()[0] == "13.1"
    assert "no MetaDataVersion before the ClinicalData" in _error(tmp_path, data_only)


def test_malformed_xml_names_line_and_column(tmp_path: Path):
    text = _small().replace('Value="13.1"/>', 'Value="13.1">', 1)
    assert _error(tmp_path, text) == (
        "export.xml, line 38, column 27: malformed XML: Opening and ending tag mismatch: "
        "ItemData line 36 and ItemGroupData; fix the file or export it again from the EDC"
    )


def test_external_entity_is_refused_before_parsing(tmp_path: Path):
    text = _small().replace(
        "<ODM ",
        '<!DOCTYPE ODM [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<ODM ',
        1,
    )
    assert _error(tmp_path, text) == (
        "export.xml, line 2, column 1: XML external entity 'xxe' (SYSTEM \"file:///etc/passwd\") "
        "is not allowed: it would read a file or URL while parsing; an ODM export needs no DTD: "
        "remove the DOCTYPE declaration or export the file again"
    )


def test_entity_expansion_bomb_is_refused(tmp_path: Path):
    laughs = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10)
    ]
    doctype = "<!DOCTYPE ODM [\n" + "\n".join(laughs) + "\n]>\n"
    text = _small().replace("<ODM ", doctype + "<ODM ", 1).replace("Small<", "&lol9;<", 1)
    assert _error(tmp_path, text) == (
        "export.xml, line 2, column 1: XML entity 'lol1' expands other entities (an "
        "entity-expansion bomb) and is not allowed; an ODM export needs no DTD: remove the "
        "DOCTYPE declaration or export the file again"
    )


def test_the_parser_expands_no_entity_even_past_the_doctype_check(tmp_path: Path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    monkeypatch.setattr(odm_stream, "refuse_doctype", lambda path, shown: None)
    text = _small().replace(
        "<ODM ", f'<!DOCTYPE ODM [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<ODM ', 1
    )
    text = text.replace('Value="13.1"', 'Value="&xxe;"', 1)
    message = _error(tmp_path, text)
    assert "TOP-SECRET" not in message
    assert message.startswith("export.xml, line ")


def test_item_oid_not_in_the_metadata(tmp_path: Path):
    text = _small().replace('ItemOID="I.HGB" Value="12.0"', 'ItemOID="I.ALB" Value="4.1"')
    assert _error(tmp_path, text) == (
        "export.xml, line 51: ItemOID 'I.ALB' is not in the metadata (MetaDataVersion MDV.1); "
        "export the metadata with the data, or fix the OID"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'Value="13.1"',
            'Value="13,1"',
            "export.xml, line 36: value '13,1' of item hgb (I.HGB) is not a valid float",
        ),
        (
            'Value="2021-06-13"',
            'Value="2021-02-29"',
            "export.xml, line 40: value '2021-02-29' of item lbdat (I.DATE) is not a valid date",
        ),
        (
            'ItemOID="I.SEX" Value="2"',
            'ItemOID="I.SEX" Value="3"',
            "export.xml, line 37: value '3' of item sex (I.SEX) is not in its CodeList CL.SEX "
            "(1, 2)",
        ),
    ],
)
def test_value_that_does_not_fit_its_declared_type(tmp_path: Path, old, new, expected):
    message = _error(tmp_path, _small().replace(old, new, 1))
    assert message.split("; ")[0] == expected
    assert message.endswith("fix the value or the metadata")


def test_wrong_encoding_names_the_byte_and_its_place(tmp_path: Path):
    text = _small().replace("Hand-written", "Hand-written caf\u00e9", 1).encode("latin-1")
    assert _error(tmp_path, text) == (
        "export.xml, line 6, column 41: byte 0xE9 is not valid UTF-8; save the export as UTF-8, "
        "or declare its encoding in the XML declaration"
    )


def test_latin1_declared_is_read(tmp_path: Path):
    text = _small().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace('Value="13.1"', 'Value="13.1"', 1)
    raw = text.replace("Small<", "Sm\u00e5ll<", 1).encode("latin-1")
    assert _read(tmp_path, raw)["lab"]["hgb"].tolist()[0] == "13.1"


def test_item_group_not_in_the_metadata(tmp_path: Path):
    source = Source(name="lab", file="export.xml", item_group="IG.LABS")
    assert _error(tmp_path, _small(), source) == (
        "export.xml: item group 'IG.LABS' is not in the ODM metadata (MetaDataVersion MDV.1); "
        "use one of: IG.LAB"
    )


def test_a_record_twice_in_a_snapshot(tmp_path: Path):
    text = _small().replace('ItemGroupRepeatKey="2"', 'ItemGroupRepeatKey="1"', 1)
    assert _error(tmp_path, text) == (
        "export.xml: item group IG.LAB of subject 001 at SE.SCR appears twice in a Snapshot "
        "file (lines 34 and 39); give repeated records an ItemGroupRepeatKey, or export with "
        "FileType Transactional"
    )


def test_a_form_instance_written_twice_in_a_snapshot(tmp_path: Path):
    again = _small().split('    <SubjectData SubjectKey="002">')[1].split("  </ClinicalData>")[0]
    text = _small().replace(
        "  </ClinicalData>", f'    <SubjectData SubjectKey="002">{again}  </ClinicalData>'
    )
    assert _error(tmp_path, text) == (
        "export.xml: item group IG.LAB of subject 002 at SE.UNS appears twice in a Snapshot "
        "file (lines 49 and 59); give repeated records an ItemGroupRepeatKey, or export with "
        "FileType Transactional"
    )


def test_a_form_without_event_twice_names_no_event(tmp_path: Path):
    text = _small().replace('ItemGroupRepeatKey="2"', 'ItemGroupRepeatKey="1"', 1)
    text = text.replace('<StudyEventData StudyEventOID="SE.SCR">', "", 1)
    text = text.replace("</StudyEventData>", "", 1)
    assert _error(tmp_path, text) == (
        "export.xml: item group IG.LAB of subject 001 appears twice in a Snapshot file (lines "
        "34 and 39); give repeated records an ItemGroupRepeatKey, or export with FileType "
        "Transactional"
    )


def test_a_blank_record_sharing_keys_is_skipped_not_refused(tmp_path: Path):
    second = '          <ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="2">'
    blank = (
        '<ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="1">'
        '<ItemData ItemOID="I.HGB" IsNull="Yes"/></ItemGroupData>\n'
    )
    frame = _read(tmp_path, _small().replace(second, blank + second, 1))["lab"]
    assert frame["ItemGroupRepeatKey"].tolist() == ["1", "2", "1"]
    assert frame["__row"].tolist() == [34, 40, 50]  # the blank one at line 39 is skipped


TRANSACTIONS = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Transactional"
     FileOID="F.2" CreationDateTime="2022-02-16T09:00:00">
{study}
  <ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">
    <SubjectData SubjectKey="001"><StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.LAB">
      <ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="2" TransactionType="Update">
        <ItemData ItemOID="I.HGB" Value="12.9" TransactionType="Insert"/>
      </ItemGroupData>
      <ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="1" TransactionType="Update">
        <ItemData ItemOID="I.SEX" TransactionType="Remove"/>
        <ItemData ItemOID="I.HGB" Value="13.3" TransactionType="Update"/>
      </ItemGroupData>
    </FormData></StudyEventData></SubjectData>
    <SubjectData SubjectKey="002" TransactionType="Remove"/>
    <SubjectData SubjectKey="003"><StudyEventData StudyEventOID="SE.SCR"><FormData FormOID="F.LAB">
      <ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="1" TransactionType="Insert">
        <ItemData ItemOID="I.DATE" Value="2021-08-01"/>
      </ItemGroupData>
      <ItemGroupData ItemGroupOID="IG.LAB" ItemGroupRepeatKey="1" TransactionType="Remove"/>
    </FormData></StudyEventData></SubjectData>
  </ClinicalData>
</ODM>
"""


def test_transactional_file_updates_removes_and_inserts_in_file_order(tmp_path: Path):
    small = _small()
    study = small[small.index("<Study ") : small.index("<ClinicalData")]
    clinical = small[small.index("<ClinicalData") : small.index("</ODM>")]
    text = TRANSACTIONS.format(study=study)
    # the first ClinicalData inserts what small.odm.xml holds; the second changes it
    text = text.replace("  <ClinicalData", clinical + "  <ClinicalData", 1)
    frame = _read(tmp_path, text)["lab"]
    rows = frame[["SubjectKey", "ItemGroupRepeatKey", "lbdat", "sex", "hgb", ROW]]
    rows = rows.astype(object).where(rows.notna(), None).values.tolist()
    assert rows == [
        ["001", "1", "2021-06-12", None, "13.3", 36],  # sex removed, hgb updated
        ["001", "2", "2021-06-13", None, "12.9", 41],  # hgb inserted into the record
        # subject 002 removed; subject 003's record inserted, then removed
    ]


def test_typed_item_data_audit_records_and_reference_data(tmp_path: Path):
    """ODM 1.3's typed ItemDataFloat carries its value as text; an AuditRecord inside a group
    is not an item; ItemGroupData under ReferenceData is not a subject's record."""
    text = _small().replace(
        '<ItemData ItemOID="I.HGB" Value="12.0"/>',
        '<ItemDataFloat ItemOID="I.HGB">12.0</ItemDataFloat>\n'
        '            <AuditRecord><UserRef UserOID="U.1"/><LocationRef LocationOID="01"/>'
        "<DateTimeStamp>2021-07-01T10:00:00</DateTimeStamp></AuditRecord>",
    )
    reference = (
        '  <ReferenceData StudyOID="S.1" MetaDataVersionOID="MDV.1">\n'
        '    <ItemGroupData ItemGroupOID="IG.LAB"><ItemData ItemOID="I.HGB" Value="1"/>'
        "</ItemGroupData>\n  </ReferenceData>\n"
    )
    text = text.replace("  <ClinicalData", reference + "  <ClinicalData", 1)
    frame = _read(tmp_path, text)["lab"]
    assert frame["hgb"].isna().tolist() == [False, True, False]
    assert frame["hgb"].dropna().tolist() == ["13.1", "12.0"]
