"""Fixtures modelled on real exports (issue 15): per producer, a small SYNTHETIC study under
tests/edc_shapes/ whose ODM export has the shape of a public export of that producer (its
README.md names the file: repository, path, commit, and the features reproduced). Each study
converts, its DM and VS equal values worked out by hand from the raw export (the README shows
the working), and each producer quirk has its own assertion."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.helpers import ROOT, run_cli
from trialbridge.converters.lineage import ROWS_READ, ROWS_SKIPPED
from trialbridge.converters.odm import read_odm
from trialbridge.errors import UserError
from trialbridge.study import Source, load_study

SHAPES = ROOT / "tests" / "edc_shapes"
OPENCLINICA = SHAPES / "openclinica3"
OPENEDC = SHAPES / "openedc"
CDISC = SHAPES / "cdisc_example"
REMOVED = "removed or merged by a transaction"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each study converted once, with the command line."""
    outputs = {}
    for study in (OPENCLINICA, OPENEDC, CDISC):
        out = tmp_path_factory.mktemp(study.name) / "out"
        result = run_cli("convert", study, "--out", out)
        assert result.exit_code == 0, result.output
        outputs[study.name] = out
    return outputs


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    """A table written in the test: a header line, then one line per record, cells split on
    '|' ('' for an empty cell)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    header, *rows = [[cell.strip() for cell in line.split("|")] for line in lines]
    return header, rows


def _text(value: object) -> str:
    """An XPT value as the tables write it: numbers without a trailing '.0', missing as ''."""
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _xpt(out: Path, name: str, columns: list[str]) -> list[list[str]]:
    frame = pyreadstat.read_xport(str(out / "sdtm" / f"{name}.xpt"))[0]
    return [[_text(v) for v in row] for row in frame[columns].itertuples(index=False)]


def _assert_dataset(out: Path, name: str, expected: str) -> None:
    columns, rows = _table(expected)
    assert _xpt(out, name, columns) == rows


def _tables(study: Path) -> dict[str, pd.DataFrame]:
    """The study's source tables as the ODM reader gives them (all sources read one file)."""
    return read_odm(study, list(load_study(study).study.sources))


def _rows(frame: pd.DataFrame, *columns: str) -> list[list[object]]:
    picked = frame[list(columns)].astype(object)
    return picked.where(picked.notna(), None).values.tolist()


def _reconciliation(out: Path, source: str) -> dict[str, str]:
    """The reconciliation row of one source (the reader's counts)."""
    with (out / "reconciliation.csv").open(encoding="utf-8", newline="") as handle:
        found = [r for r in csv.DictReader(handle) if r["domain"] == "" and r["source"] == source]
    assert len(found) == 1
    return found[0]


def _same_for_every_study(out: Path) -> None:
    """What the three studies share: every subject is treated on one day (RFSTDTC = RFXSTDTC
    = RFXENDTC, arm PLMSC); vital signs are taken at screening (epoch SCREENING, the last
    result before the infusion: VSLOBXFL Y) and at month 1 (FOLLOW-UP, no flag)."""
    rows = _xpt(out, "dm", ["RFSTDTC", "RFXSTDTC", "RFXENDTC", "ARMCD", "ACTARMCD", "AGEU"])
    assert all(r[0] == r[1] == r[2] and r[3:] == ["PLMSC", "PLMSC", "YEARS"] for r in rows)
    visits = {tuple(r) for r in _xpt(out, "vs", ["VISITNUM", "VISIT", "EPOCH", "VSLOBXFL"])}
    assert visits == {("1", "SCREENING", "SCREENING", "Y"), ("3", "MONTH 1", "FOLLOW-UP", "")}


# --- OpenClinica 3.x: lindsay-stevens/openclinica_scripts, JUNO_DEMO full extract ----------

OPENCLINICA_DM = """
USUBJID          | SUBJID | SITEID | SEX | BRTHDTC    | AGE | RFICDTC    | RFSTDTC    | RFPENDTC
SHAPE-OC3-01-101 | 101    | 01     | F   | 1984-02-17 | 37  | 2021-05-03 | 2021-05-12 | 2021-06-09
SHAPE-OC3-01-102 | 102    | 01     | M   | 1979-11-30 | 41  | 2021-05-10 | 2021-05-19 | 2021-06-16
SHAPE-OC3-02-201 | 201    | 02     | F   | 1990-07-04 | 30  | 2021-05-20 | 2021-06-01 | 2021-06-29
"""

OPENCLINICA_VS = """
USUBJID          | VSSEQ | VSTESTCD | VSORRES | VSORRESU  | VISIT     | VSDTC      | VSDY
SHAPE-OC3-01-101 | 1     | PULSE    | 72      | beats/min | SCREENING | 2021-05-05 | -7
SHAPE-OC3-01-101 | 2     | PULSE    | 70      | beats/min | MONTH 1   | 2021-06-09 | 29
SHAPE-OC3-01-101 | 3     | SYSBP    | 118     | mmHg      | SCREENING | 2021-05-05 | -7
SHAPE-OC3-01-101 | 4     | SYSBP    | 121     | mmHg      | MONTH 1   | 2021-06-09 | 29
SHAPE-OC3-01-101 | 5     | WEIGHT   | 64.5    | kg        | SCREENING | 2021-05-05 | -7
SHAPE-OC3-01-101 | 6     | WEIGHT   | 65.0    | kg        | MONTH 1   | 2021-06-09 | 29
SHAPE-OC3-01-102 | 1     | PULSE    | 80      | beats/min | SCREENING | 2021-05-11 | -8
SHAPE-OC3-01-102 | 2     | PULSE    | 77      | beats/min | MONTH 1   | 2021-06-16 | 29
SHAPE-OC3-01-102 | 3     | SYSBP    | 131     | mmHg      | SCREENING | 2021-05-11 | -8
SHAPE-OC3-01-102 | 4     | SYSBP    | 128     | mmHg      | MONTH 1   | 2021-06-16 | 29
SHAPE-OC3-01-102 | 5     | WEIGHT   | 82.3    | kg        | SCREENING | 2021-05-11 | -8
SHAPE-OC3-01-102 | 6     | WEIGHT   | 81.9    | kg        | MONTH 1   | 2021-06-16 | 29
SHAPE-OC3-02-201 | 1     | PULSE    | 66      | beats/min | SCREENING | 2021-05-24 | -8
SHAPE-OC3-02-201 | 2     | SYSBP    | 109     | mmHg      | SCREENING | 2021-05-24 | -8
SHAPE-OC3-02-201 | 3     | SYSBP    | 112     | mmHg      | MONTH 1   | 2021-06-29 | 29
SHAPE-OC3-02-201 | 4     | WEIGHT   | 58.2    | kg        | SCREENING | 2021-05-24 | -8
SHAPE-OC3-02-201 | 5     | WEIGHT   | 58.8    | kg        | MONTH 1   | 2021-06-29 | 29
"""


def test_openclinica_dm_and_vs(converted: dict[str, Path]):
    out = converted["openclinica3"]
    _assert_dataset(out, "dm", OPENCLINICA_DM)
    _assert_dataset(out, "vs", OPENCLINICA_VS)
    _same_for_every_study(out)


def test_openclinica_sites_are_studies_including_the_parent():
    """No SiteRef: each site is a Study whose MetaDataVersion includes the parent's, with its
    own ClinicalData; the subject table has one row per SubjectData, OpenClinica's subject
    attributes as columns."""
    text = (OPENCLINICA / "raw" / "odm1.3_full_extract.xml").read_text(encoding="ascii")
    assert text.count('<Include StudyOID="S_SHAPEOC" MetaDataVersionOID="v1.0.0"/>') == 2
    assert "<SiteRef" not in text
    subjects = _tables(OPENCLINICA)["subjects"]
    columns = [
        "StudyOID",
        "SubjectKey",
        "SiteRef",
        "SubjectData.OpenClinica:StudySubjectID",
        "SubjectData.OpenClinica:Sex",
        "SubjectData.OpenClinica:DateOfBirth",
    ]
    assert _rows(subjects, *columns) == [
        ["S_SITE01", "SS_101", None, "101", "f", "1984-02-17"],
        ["S_SITE01", "SS_102", None, "102", "m", "1979-11-30"],
        ["S_SITE02", "SS_201", None, "201", "f", "1990-07-04"],
    ]


def test_openclinica_event_and_form_attributes_are_columns():
    """Two versions of the vital signs form fill one item group; the form's version and the
    event's start date (VSDTC) are columns of every record."""
    vitals = _tables(OPENCLINICA)["vitals"]
    columns = [
        "SubjectKey",
        "StudyEventOID",
        "FormOID",
        "FormData.OpenClinica:Version",
        "FormData.OpenClinica:Status",
        "StudyEventData.OpenClinica:StartDate",
    ]
    assert _rows(vitals, *columns) == [
        ["SS_101", "SE_SCREENING", "F_VITALSIGNS_V10", "V1.0", "data entry complete", "2021-05-05"],
        ["SS_101", "SE_MONTH1", "F_VITALSIGNS_V11", "V1.1", "data entry complete", "2021-06-09"],
        ["SS_102", "SE_SCREENING", "F_VITALSIGNS_V10", "V1.0", "data entry complete", "2021-05-11"],
        ["SS_102", "SE_MONTH1", "F_VITALSIGNS_V11", "V1.1", "initial data entry", "2021-06-16"],
        ["SS_201", "SE_SCREENING", "F_VITALSIGNS_V10", "V1.0", "data entry complete", "2021-05-24"],
        ["SS_201", "SE_MONTH1", "F_VITALSIGNS_V10", "V1.0", "data entry complete", "2021-06-29"],
    ]


def test_openclinica_units_are_inside_each_item_data_and_values_are_trimmed():
    """OpenClinica writes <MeasurementUnitRef> inside ItemData: the unit's OID and symbol are
    columns ('per min' becomes VSORRESU beats/min by the spec). '65.0 ' loses its space."""
    raw = (OPENCLINICA / "raw" / "odm1.3_full_extract.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="US-ASCII"?><ODM ')
    assert b'<ItemData ItemOID="I_VITAL_WEIGHT" Value="65.0 ">' in raw
    vitals = _tables(OPENCLINICA)["vitals"]
    assert _rows(vitals, "PULSE", "PULSE.MeasurementUnitOID", "PULSE.MeasurementUnit")[:2] == [
        ["72", "MU_PERMIN", "per min"],
        ["70", "MU_PERMIN", "per min"],
    ]
    assert _rows(vitals, "WEIGHT", "WEIGHT.MeasurementUnit")[1] == ["65.0", "kg"]
    assert _rows(vitals, "PULSE", "PULSE.MeasurementUnitOID")[5] == [None, None]  # not sent


def test_openclinica_multi_select_is_split_by_its_multi_select_list():
    """RACE is a checkbox item: <OpenClinica:MultiSelectListRef MultiSelectListID="MSL_1"/>
    and no CodeListRef, as in the JUNO extract (DEM_RACE -> MSL_14)."""
    source = Source(
        name="demographics",
        file="raw/odm1.3_full_extract.xml",
        item_group="IG_DEMOG_UNGROUPED",
        split=["RACE"],
    )
    frame = read_odm(OPENCLINICA, [source])["demographics"]
    assert _rows(frame, "SubjectKey", "RACE", "RACE___1", "RACE___2", "RACE___3") == [
        ["SS_101", "1,3", "1", "0", "1"],
        ["SS_102", "3", "0", "0", "1"],
        ["SS_201", "2", "0", "1", "0"],
    ]


# --- OpenEDC: imi-muenster/OpenEDC, example/metadata.xml and example/clinicaldata.xml -------

OPENEDC_DM = """
USUBJID             | SUBJID | SITEID | SEX | AGE | RFICDTC    | RFSTDTC    | RFPENDTC
SHAPE-OPENEDC-01-01 | 01     | 01     | F   | 41  | 2021-03-01 | 2021-03-10 | 2021-04-07
SHAPE-OPENEDC-01-02 | 02     | 01     | M   | 29  | 2021-03-08 | 2021-03-17 | 2021-03-17
SHAPE-OPENEDC-01-03 | 03     | 01     | F   | 52  | 2021-03-15 | 2021-03-24 | 2021-04-21
"""

OPENEDC_VS = """
USUBJID             | VSSEQ | VSTESTCD | VSORRES | VSORRESU  | VISIT     | VSDTC      | VSDY
SHAPE-OPENEDC-01-01 | 1     | PULSE    | 68      | beats/min | SCREENING | 2021-03-04 | -6
SHAPE-OPENEDC-01-01 | 2     | PULSE    | 71      | beats/min | MONTH 1   | 2021-04-07 | 29
SHAPE-OPENEDC-01-01 | 3     | SYSBP    | 124     | mmHg      | SCREENING | 2021-03-04 | -6
SHAPE-OPENEDC-01-01 | 4     | SYSBP    | 119     | mmHg      | MONTH 1   | 2021-04-07 | 29
SHAPE-OPENEDC-01-01 | 5     | WEIGHT   | 70.2    | kg        | SCREENING | 2021-03-04 | -6
SHAPE-OPENEDC-01-01 | 6     | WEIGHT   | 69.8    | kg        | MONTH 1   | 2021-04-07 | 29
SHAPE-OPENEDC-01-02 | 1     | PULSE    | 84      | beats/min | SCREENING | 2021-03-09 | -8
SHAPE-OPENEDC-01-02 | 2     | SYSBP    | 135     | mmHg      | SCREENING | 2021-03-09 | -8
SHAPE-OPENEDC-01-02 | 3     | WEIGHT   | 91.0    | kg        | SCREENING | 2021-03-09 | -8
SHAPE-OPENEDC-01-03 | 1     | PULSE    | 77      | beats/min | SCREENING | 2021-03-16 | -8
SHAPE-OPENEDC-01-03 | 2     | PULSE    | 75      | beats/min | MONTH 1   | 2021-04-21 | 29
SHAPE-OPENEDC-01-03 | 3     | SYSBP    | 142     | mmHg      | SCREENING | 2021-03-16 | -8
SHAPE-OPENEDC-01-03 | 4     | SYSBP    | 138     | mmHg      | MONTH 1   | 2021-04-21 | 29
SHAPE-OPENEDC-01-03 | 5     | WEIGHT   | 63.4    | kg        | SCREENING | 2021-03-16 | -8
SHAPE-OPENEDC-01-03 | 6     | WEIGHT   | 63.9    | kg        | MONTH 1   | 2021-04-21 | 29
"""


def test_openedc_dm_and_vs(converted: dict[str, Path]):
    out = converted["openedc"]
    _assert_dataset(out, "dm", OPENEDC_DM)
    _assert_dataset(out, "vs", OPENEDC_VS)
    _same_for_every_study(out)
    # the form asks for the age: no date of birth, so DM has no BRTHDTC column (Perm)
    assert "BRTHDTC" not in pyreadstat.read_xport(str(out / "sdtm" / "dm.xpt"))[0].columns


def test_openedc_metadata_is_a_separate_file():
    """clinicaldata.xml holds no MetaDataVersion: without 'metadata:' it cannot be read."""
    assert "<MetaDataVersion" not in (OPENEDC / "raw" / "clinicaldata.xml").read_text("utf-8")
    source = Source(name="vitals", file="raw/clinicaldata.xml", item_group="VitalSigns")
    with pytest.raises(UserError) as caught:
        read_odm(OPENEDC, [source])
    assert caught.value.line().startswith(
        "raw/clinicaldata.xml: no MetaDataVersion before the ClinicalData"
    )


def test_openedc_empty_item_groups_are_counted_as_blank(converted: dict[str, Path]):
    """OpenEDC writes every item group of a saved form: the introduction group (no items)
    always empty, and subject 02's month 1 vital signs empty: one blank record."""
    assert _reconciliation(converted["openedc"], "vitals")["rows_skipped"] == "1 blank"
    intro = Source(
        name="intro", file="raw/clinicaldata.xml", metadata="raw/metadata.xml", item_group="IG.3"
    )
    frame = read_odm(OPENEDC, [intro])["intro"]
    assert (len(frame), frame.attrs[ROWS_READ], frame.attrs[ROWS_SKIPPED]["blank"]) == (0, 6, 6)


def test_openedc_units_are_on_the_item_def_only():
    """OIDs are plain names; columns are the ItemDefs' Names (I.2 is 'Pulse'). The unit is a
    MeasurementUnitRef of the ItemDef and never of a value: the per-value unit columns are
    empty, so the spec writes VSORRESU itself. An AuditRecord follows the events."""
    text = (OPENEDC / "raw" / "clinicaldata.xml").read_text(encoding="utf-8")
    assert '<ItemData Value="68" ItemOID="I.2"/>' in text
    assert "</StudyEventData>\n            <AuditRecord>" in text
    vitals = _tables(OPENEDC)["vitals"]
    assert _rows(vitals, "SubjectKey", "Pulse", "Weight")[0] == ["01", "68", "70.2"]
    assert vitals["Weight.MeasurementUnitOID"].isna().all()
    assert vitals["Pulse.MeasurementUnit"].isna().all()


# --- CDISC examples: CTMM-TraIT/trait_odm_to_i2b2, CDISC_ODM_example_3 and odm130data -------

CDISC_DM = """
USUBJID            | SUBJID | SITEID | SEX | BRTHDTC    | AGE | RFICDTC    | RFSTDTC    | RFPENDTC
SHAPE-CDISC-01-001 | 001    | 01     | M   | 1975-08-21 | 45  | 2021-04-05 | 2021-04-14 | 2021-05-12
SHAPE-CDISC-01-002 | 002    | 01     | F   | 1988-11-03 | 32  | 2021-04-12 | 2021-04-21 | 2021-05-19
SHAPE-CDISC-02-003 | 003    | 02     | M   | 1966-02-27 | 55  | 2021-04-19 | 2021-04-28 | 2021-05-26
"""

CDISC_VS = """
USUBJID            | VSSEQ | VSTESTCD | VSORRES | VSORRESU  | VISIT     | VSDTC      | VSDY
SHAPE-CDISC-01-001 | 1     | PULSE    | 74      | beats/min | SCREENING | 2021-04-07 | -7
SHAPE-CDISC-01-001 | 2     | PULSE    | 70      | beats/min | MONTH 1   | 2021-05-12 | 29
SHAPE-CDISC-01-001 | 3     | SYSBP    | 127     | mmHg      | SCREENING | 2021-04-07 | -7
SHAPE-CDISC-01-001 | 4     | SYSBP    | 122     | mmHg      | MONTH 1   | 2021-05-12 | 29
SHAPE-CDISC-01-001 | 5     | WEIGHT   | 77.5    | kg        | SCREENING | 2021-04-07 | -7
SHAPE-CDISC-01-001 | 6     | WEIGHT   | 78.1    | kg        | MONTH 1   | 2021-05-12 | 29
SHAPE-CDISC-01-002 | 1     | PULSE    | 81      | beats/min | SCREENING | 2021-04-13 | -8
SHAPE-CDISC-01-002 | 2     | PULSE    |         |           | MONTH 1   | 2021-05-19 | 29
SHAPE-CDISC-01-002 | 3     | SYSBP    | 114     | mmHg      | SCREENING | 2021-04-13 | -8
SHAPE-CDISC-01-002 | 4     | SYSBP    | 117     | mmHg      | MONTH 1   | 2021-05-19 | 29
SHAPE-CDISC-01-002 | 5     | WEIGHT   | 59.0    | kg        | SCREENING | 2021-04-13 | -8
SHAPE-CDISC-01-002 | 6     | WEIGHT   | 59.4    | kg        | MONTH 1   | 2021-05-19 | 29
SHAPE-CDISC-02-003 | 1     | PULSE    | 66      | beats/min | SCREENING | 2021-04-20 | -8
SHAPE-CDISC-02-003 | 2     | PULSE    | 64      | beats/min | MONTH 1   | 2021-05-26 | 29
SHAPE-CDISC-02-003 | 3     | SYSBP    | 139     | mmHg      | SCREENING | 2021-04-20 | -8
SHAPE-CDISC-02-003 | 4     | SYSBP    | 133     | mmHg      | MONTH 1   | 2021-05-26 | 29
SHAPE-CDISC-02-003 | 5     | WEIGHT   | 84.2    | kg        | SCREENING | 2021-04-20 | -8
SHAPE-CDISC-02-003 | 6     | WEIGHT   | 83.5    | kg        | MONTH 1   | 2021-05-26 | 29
"""


def test_cdisc_example_dm_and_vs(converted: dict[str, Path]):
    out = converted["cdisc_example"]
    _assert_dataset(out, "dm", CDISC_DM)
    _assert_dataset(out, "vs", CDISC_VS)
    _same_for_every_study(out)
    # the month 1 pulse of subject 002 was not measured: an empty typed ItemDataFloat
    status = [r for r in _xpt(out, "vs", ["USUBJID", "VSSEQ", "VSSTAT"]) if r[2]]
    assert status == [["SHAPE-CDISC-01-002", "2", "NOT DONE"]]


def test_cdisc_example_transactions(converted: dict[str, Path]):
    """Subject 003's pulse of 96 (record 4 at screening) is removed by a later Remove: it is
    absent, and the reconciliation counts the insert and the Remove itself; subject 001's
    date of birth 19750812 is corrected by an Update of its one item (merged: counted too)."""
    out = converted["cdisc_example"]
    vitals = _reconciliation(out, "vitals")
    assert (vitals["rows_read"], vitals["rows_skipped"]) == ("20", f"2 {REMOVED}")
    assert "96" not in {r[0] for r in _xpt(out, "vs", ["VSORRES"])}
    demographics = _reconciliation(out, "demographics")
    assert (demographics["rows_read"], demographics["rows_skipped"]) == ("4", f"1 {REMOVED}")
    raw = (CDISC / "raw" / "transactions.xml").read_bytes()
    assert b'<ItemData ItemOID = "IT.DOB" Value = "19750812"/>' in raw
    assert _xpt(out, "dm", ["BRTHDTC"])[0] == ["1975-08-21"]


def test_cdisc_example_prolog_and_encoding():
    """The DOCTYPE of an older header sits inside a comment before the root (not refused);
    the file is ISO-8859-1 ('pesée à jeun' is not UTF-8) and is decoded as declared."""
    raw = (CDISC / "raw" / "transactions.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!--\n<!DOCTYPE ODM ')
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    vitals = _tables(CDISC)["vitals"]
    assert _rows(vitals, "SubjectKey", "Comment").count(["002", "pesée à jeun"]) == 1


def test_cdisc_example_typed_item_data_and_external_codelist():
    """Vital signs are typed ItemDataDate/String/Float elements (an empty one is null); the
    test is an ExternalCodeList item: LOINC, version 2.70, as columns of every record."""
    vitals = _tables(CDISC)["vitals"]
    columns = ["LOINC Code", "LOINC Code.Dictionary", "LOINC Code.Version", "Result", "Unit"]
    picked = [r for r in _rows(vitals, "SubjectKey", "StudyEventOID", *columns) if r[0] == "002"]
    assert picked == [
        ["002", "SE.VISIT0", "8480-6", "LOINC", "2.70", "114", "mmHg"],
        ["002", "SE.VISIT0", "8867-4", "LOINC", "2.70", "81", "bpm"],
        ["002", "SE.VISIT0", "29463-7", "LOINC", "2.70", "59.0", "kg"],
        ["002", "SE.VISIT2", "8480-6", "LOINC", "2.70", "117", "mmHg"],
        ["002", "SE.VISIT2", "8867-4", "LOINC", "2.70", None, None],
        ["002", "SE.VISIT2", "29463-7", "LOINC", "2.70", "59.4", "kg"],
    ]


def test_cdisc_example_reference_data_is_no_subjects():
    """The expected ranges sit in ReferenceData: read as a source they are no records, and
    counted as reference data."""
    ranges = Source(name="ranges", file="raw/transactions.xml", item_group="IG.VSRANGE")
    frame = read_odm(CDISC, [ranges])["ranges"]
    assert (len(frame), frame.attrs[ROWS_READ]) == (0, 2)
    assert frame.attrs[ROWS_SKIPPED]["reference data, not a subject's"] == 2
