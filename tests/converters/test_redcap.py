"""REDCap reader: one table per instrument from the records export, its data dictionary and
its instrument designations, with spreadsheet-row lineage; every bad export is one line
naming the place."""

from pathlib import Path

import pandas as pd
import pytest

from trialbridge.converters.redcap import checkbox_column, read_redcap
from trialbridge.converters.sources import COLUMN, FILE, ROW
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.study import Source

HEADER = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
    '"Choices, Calculations, OR Slider Labels","Field Note",'
    '"Text Validation Type OR Show Slider Number","Text Validation Min","Text Validation Max",'
    '"Identifier?","Branching Logic (Show field only if...)","Required Field?",'
    '"Custom Alignment","Question Number (surveys only)","Matrix Group Name","Matrix Ranking?",'
    '"Field Annotation"'
)
# field, form, type, label, choices, validation
FIELDS = [
    ("record_id", "demographics", "text", "Record ID", "", ""),
    ("dem_intro", "demographics", "descriptive", "About you", "", ""),
    ("sex", "demographics", "radio", "Sex", "1, Male | 2, Female", ""),
    ("dob", "demographics", "text", "Date of birth", "", "date_dmy"),
    ("race", "demographics", "checkbox", "Race", "1, White | 2, Black | UNK, Unknown", ""),
    ("vsdat", "vitals", "text", "Visit date", "", "date_ymd"),
    ("weight", "vitals", "text", "Weight", "", "number"),
    ("smoker", "vitals", "yesno", "Smoker", "", ""),
    ("aeterm", "adverse_events", "text", "Term", "", ""),
    ("aestdtc", "adverse_events", "text", "Start", "", "date_ymd"),
    ("aeser", "adverse_events", "dropdown", "Serious", "Y, Yes | N, No", ""),
]
EVENTS = """arm_num,unique_event_name,form
1,screening_arm_1,demographics
1,screening_arm_1,vitals
1,week_4_arm_1,vitals
1,week_4_arm_1,adverse_events
"""
RECORDS = [
    "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,sex,dob,"
    "race___1,race___2,race___unk,demographics_complete,vsdat,weight,smoker,vitals_complete,"
    "aeterm,aestdtc,aeser,adverse_events_complete",
    "001,screening_arm_1,,,1,1980-02-29,1,0,0,2,2021-01-05, 70.5 ,0,2,,,,",  # row 2
    "001,week_4_arm_1,,,,,0,0,0,,2021-02-02,71,1,1,,,,",  # row 3: no demographics here
    "001,week_4_arm_1,adverse_events,1,,,,,,,,,,,Headache,2021-02-03,N,2",  # row 4
    "001,week_4_arm_1,adverse_events,2,,,,,,,,,,,Nausea,,Y,1",  # row 5
    "002,screening_arm_1,,,2,,0,0,1,1,,,,0,,,,",  # row 6: vitals not started
    "",  # row 7: a blank line still counts
    "002,week_4_arm_1,,,,,0,0,0,,2021-02-09,NA,,1,,,,",  # row 8
]
KEYS = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
LINEAGE = [FILE, ROW, COLUMN]
RECORDS_AT = "raw/redcap/records.csv"
DICTIONARY_AT = "raw/redcap/dictionary.csv"
EVENTS_AT = "raw/redcap/events.csv"


def _dictionary(fields: list[tuple[str, ...]]) -> str:
    rows = [HEADER]
    for name, form, kind, label, choices, validation in fields:
        rows.append(f'{name},{form},,{kind},"{label}","{choices}",,{validation},,,,,,,,,,')
    return "\n".join(rows) + "\n"


def _source(instrument: str, name: str | None = None, **options) -> Source:
    return Source(
        name=name or instrument,
        file=RECORDS_AT,
        format="redcap",
        instrument=instrument,
        dictionary=DICTIONARY_AT,
        events=options.pop("events", EVENTS_AT),
        missing=options.pop("missing", ["", "NA"]),
        **options,
    )


def _project(
    root: Path,
    records: list[str] = RECORDS,
    fields: list[tuple[str, ...]] = FIELDS,
    events: str = EVENTS,
) -> Path:
    folder = root / "raw" / "redcap"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "records.csv").write_text("\n".join(records) + "\n")
    (folder / "dictionary.csv").write_text(_dictionary(fields))
    (folder / "events.csv").write_text(events)
    return root


def _rows(frame: pd.DataFrame) -> list[list[object]]:
    values = frame.drop(columns=LINEAGE).astype(object)
    return values.where(values.notna(), None).values.tolist()


def _error(root: Path, *sources: Source) -> str:
    with pytest.raises(UserError) as caught:
        read_redcap(root, list(sources) or [_source("vitals")])
    return caught.value.line()


def _with(records: list[str], row: int, column: str, value: str) -> list[str]:
    """The records with one cell (spreadsheet row, column name) replaced."""
    header = records[0].split(",")
    cells = records[row - 1].split(",")
    cells[header.index(column)] = value
    return [*records[: row - 1], ",".join(cells), *records[row:]]


# --- tables ------------------------------------------------------------------------------------


def test_one_read_gives_a_table_per_instrument(tmp_path: Path):
    root = _project(tmp_path)
    sources = [_source("demographics", "dm"), _source("vitals", "vs"), _source("adverse_events")]
    tables = read_redcap(root, sources)
    assert list(tables) == ["dm", "vs", "adverse_events"]
    dm = tables["dm"]
    # the descriptive field has no column; the checkbox one per choice, in choice order
    assert list(dm.columns) == [
        *KEYS,
        *["sex", "dob", "race___1", "race___2", "race___unk", "demographics_complete"],
        *LINEAGE,
    ]
    assert _rows(dm) == [
        ["001", "screening_arm_1", None, None, "1", "1980-02-29", "1", "0", "0", "2"],
        ["002", "screening_arm_1", None, None, "2", None, "0", "0", "1", "1"],
    ]
    assert dm[ROW].tolist() == [2, 6]
    assert dm[FILE].tolist() == [RECORDS_AT] * 2
    assert dm[COLUMN].isna().all() and str(dm[COLUMN].dtype) == "str"
    assert all(str(dm[name].dtype) == "str" for name in dm.columns.drop([ROW]))


def test_non_repeating_instrument_keeps_designated_rows_with_a_filled_field(tmp_path: Path):
    vs = read_redcap(_project(tmp_path), [_source("vitals")])["vitals"]
    assert list(vs.columns) == [*KEYS, "vsdat", "weight", "smoker", "vitals_complete", *LINEAGE]
    # row 6 has only its status (0): not started; 'NA' is a missing marker; values are trimmed
    assert _rows(vs) == [
        ["001", "screening_arm_1", None, None, "2021-01-05", "70.5", "0", "2"],
        ["001", "week_4_arm_1", None, None, "2021-02-02", "71", "1", "1"],
        ["002", "week_4_arm_1", None, None, "2021-02-09", None, None, "1"],
    ]
    assert vs[ROW].tolist() == [2, 3, 8]


def test_repeating_instrument_keeps_its_own_rows(tmp_path: Path):
    ae = read_redcap(_project(tmp_path), [_source("adverse_events")])["adverse_events"]
    assert list(ae.columns) == [
        *KEYS,
        *["aeterm", "aestdtc", "aeser", "adverse_events_complete"],
        *LINEAGE,
    ]
    assert _rows(ae) == [
        ["001", "week_4_arm_1", "adverse_events", "1", "Headache", "2021-02-03", "N", "2"],
        ["001", "week_4_arm_1", "adverse_events", "2", "Nausea", None, "Y", "1"],
    ]
    assert ae[ROW].tolist() == [4, 5]


def test_values_in_an_event_not_designated_for_their_instrument_are_errors(tmp_path: Path):
    """Filled vitals at week 4, where vitals is not designated: dropping them would lose
    them unseen, so every such row is named."""
    events = "arm_num,unique_event_name,form\n1,screening_arm_1,vitals\n"
    events += "1,week_4_arm_1,demographics\n1,week_4_arm_1,adverse_events\n"
    root = _project(tmp_path, events=events)
    with pytest.raises(UserErrors), collecting() as problems:
        read_redcap(root, [_source("vitals")])
    assert [e.line() for e in problems.kept] == [
        f"{RECORDS_AT}, row {row}, column redcap_event_name: event 'week_4_arm_1' is not "
        "designated for instrument 'vitals', yet the row fills its fields; export the "
        "records, the data dictionary and the instrument designations of one project "
        "together; in REDCap, designate the instrument for the event or clear the values"
        for row in (3, 8)
    ]


def test_classic_project_with_data_access_groups_and_no_status(tmp_path: Path):
    fields = [
        ("study_id", "enrolment", "text", "Study ID", "", ""),
        ("consent", "enrolment", "truefalse", "Consented", "", ""),
        ("visits", "enrolment", "text", "Visits", "", "integer"),
    ]
    records = [
        "study_id,redcap_data_access_group,consent,visits",
        "A-1,site_01,1,3",
        "A-2,site_02,,",  # only the record id: nothing of the form is filled
        "A-3,site_02,0,",
    ]
    root = _project(tmp_path, records, fields)
    frame = read_redcap(root, [_source("enrolment", events=None)])["enrolment"]
    assert list(frame.columns) == [
        "study_id",
        "redcap_data_access_group",
        "consent",
        "visits",
        *LINEAGE,
    ]
    assert _rows(frame) == [["A-1", "site_01", "1", "3"], ["A-3", "site_02", "0", None]]
    assert frame[ROW].tolist() == [2, 4]


def test_two_sources_on_one_instrument_get_their_own_tables(tmp_path: Path):
    root = _project(tmp_path)
    tables = read_redcap(root, [_source("vitals", "a"), _source("vitals", "b")])
    assert tables["a"] is not tables["b"]
    assert tables["a"].equals(tables["b"])


def test_byte_order_mark_latin_1_and_api_dictionary_headers(tmp_path: Path):
    root = _project(tmp_path)
    folder = root / "raw" / "redcap"
    text = (folder / "records.csv").read_text().replace("Headache", "Céphalée")
    (folder / "records.csv").write_bytes(text.encode("latin-1"))
    (folder / "events.csv").write_bytes("\ufeff".encode() + EVENTS.encode())
    api = "field_name,form_name,field_type,select_choices_or_calculations,"
    api += "text_validation_type_or_show_slider_number\n"
    api += "\n".join(f'{f[0]},{f[1]},{f[2]},"{f[4]}",{f[5]}' for f in FIELDS) + "\n"
    (folder / "dictionary.csv").write_bytes(api.encode("utf-8"))
    ae = read_redcap(root, [_source("adverse_events", encoding="latin-1")])["adverse_events"]
    assert ae["aeterm"].tolist() == ["Céphalée", "Nausea"]
    (folder / "records.csv").write_bytes("\ufeff".encode() + text.encode("utf-8"))
    ae = read_redcap(root, [_source("adverse_events")])["adverse_events"]
    assert ae.columns[0] == "record_id" and ae["aeterm"].tolist() == ["Céphalée", "Nausea"]


def test_checkbox_columns_are_named_as_redcap_exports_them():
    assert checkbox_column("race", "UNK") == "race___unk"
    assert checkbox_column("dose", "-1.5") == "dose____1_5"
    assert checkbox_column("site", "A b/2") == "site___ab2"


# --- errors ------------------------------------------------------------------------------------


def test_records_column_missing_from_the_dictionary(tmp_path: Path):
    records = [RECORDS[0] + ",hgb", *(row + ",12.1" if row else row for row in RECORDS[1:])]
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 1, column hgb: REDCap field 'hgb' is not in the data "
        "dictionary; export the records and the data dictionary of the project together, "
        "unchanged"
    )


def test_checkbox_choice_missing_from_the_dictionary(tmp_path: Path):
    records = [RECORDS[0].replace("race___unk", "race___9"), *RECORDS[1:]]
    assert _error(_project(tmp_path, records)).startswith(
        "raw/redcap/records.csv, row 1, column race___9: REDCap field 'race___9' is not in "
        "the data dictionary;"
    )


def test_instrument_not_in_the_dictionary(tmp_path: Path):
    root = _project(tmp_path)
    assert _error(root, _source("vital")) == (
        "raw/redcap/dictionary.csv: instrument 'vital' of source 'vital' is not a form of the "
        "data dictionary; did you mean 'vitals'? set it as 'instrument' in study.yaml"
    )
    assert _error(root, _source("labs")) == (
        "raw/redcap/dictionary.csv: instrument 'labs' of source 'labs' is not a form of the "
        "data dictionary; set one of demographics, vitals, adverse_events as 'instrument' in "
        "study.yaml"
    )


def test_designated_form_not_in_the_dictionary(tmp_path: Path):
    root = _project(tmp_path, events=EVENTS + "1,week_4_arm_1,labs\n")
    assert _error(root) == (
        "raw/redcap/events.csv, row 6, column form: form 'labs' is not a form of the data "
        "dictionary; export the instrument designations and the data dictionary of the "
        "project together, unchanged"
    )


def test_records_event_not_in_the_designations(tmp_path: Path):
    records = _with(RECORDS, 5, "redcap_event_name", "week_8_arm_1")
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 5, column redcap_event_name: event 'week_8_arm_1' is not "
        "in the instrument designations; export the records and the data dictionary of the "
        "project together, unchanged"
    )


def test_events_set_but_the_export_has_no_event_column(tmp_path: Path):
    records = [",".join(r.split(",")[:1] + r.split(",")[2:]) for r in RECORDS if r]
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 1: the records export has no redcap_event_name column, "
        "yet 'events' is set; export the records of the longitudinal project again, or drop "
        "'events'"
    )


def test_repeating_instrument_not_in_the_dictionary(tmp_path: Path):
    records = _with(RECORDS, 4, "redcap_repeat_instrument", "adverse_event")
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 4, column redcap_repeat_instrument: repeating instrument "
        "'adverse_event' is not a form of the data dictionary; export the records and the data "
        "dictionary of the project together, unchanged"
    )


FIX = "correct the value in REDCap, or the field in the data dictionary"


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (3, "weight", "71kg", "value '71kg' of field weight (validation number) is not a number"),
        (
            2,
            "vsdat",
            "05/01/2021",
            "value '05/01/2021' of field vsdat (validation date_ymd) is not a real date YYYY-MM-DD",
        ),
        (
            8,
            "vsdat",
            "2021-02-29",
            "value '2021-02-29' of field vsdat (validation date_ymd) is not a real date YYYY-MM-DD",
        ),
        (2, "smoker", "yes", "value 'yes' of field smoker (yesno) is not 0 or 1"),
        (
            3,
            "vitals_complete",
            "3",
            "value '3' of field vitals_complete (form status) is not 0, 1 or 2",
        ),
    ],
)
def test_value_that_does_not_fit_its_field(
    tmp_path: Path, row: int, column: str, value: str, message: str
):
    records = _with(RECORDS, row, column, value)
    assert _error(_project(tmp_path, records)) == (
        f"raw/redcap/records.csv, row {row}, column {column}: {message}; {FIX}"
    )


@pytest.mark.parametrize(
    ("row", "column", "value", "message"),
    [
        (6, "sex", "3", "value '3' of field sex (radio) is not one of its choice codes 1, 2"),
        (6, "race___2", "2", "value '2' of field race___2 (checkbox) is not 0 or 1"),
        (
            2,
            "dob",
            "1980-13-01",
            "value '1980-13-01' of field dob (validation date_dmy) is not a real date YYYY-MM-DD",
        ),
        (
            2,
            "dob",
            "29-02-1980",
            "value '29-02-1980' of field dob (validation date_dmy) is not a real date YYYY-MM-DD",
        ),
    ],
)
def test_demographics_value_that_does_not_fit_its_field(
    tmp_path: Path, row: int, column: str, value: str, message: str
):
    records = _with(RECORDS, row, column, value)
    root = _project(tmp_path, records)
    assert _error(root, _source("demographics")) == (
        f"raw/redcap/records.csv, row {row}, column {column}: {message}; {FIX}"
    )


def test_dropdown_code_and_repeat_instance(tmp_path: Path):
    root = _project(tmp_path, _with(RECORDS, 5, "aeser", "Yes"))
    assert _error(root, _source("adverse_events")) == (
        "raw/redcap/records.csv, row 5, column aeser: value 'Yes' of field aeser (dropdown) is "
        f"not one of its choice codes Y, N; {FIX}"
    )
    root = _project(tmp_path, _with(RECORDS, 4, "redcap_repeat_instance", "0"))
    assert _error(root, _source("adverse_events")) == (
        "raw/redcap/records.csv, row 4, column redcap_repeat_instance: value '0' of field "
        "redcap_repeat_instance (repeat instance) is not a whole number from 1; export the "
        "records and the data dictionary of the project together, unchanged"
    )


@pytest.mark.parametrize(
    ("validation", "good", "bad", "expected"),
    [
        ("integer", "-12", "12.0", "a whole number"),
        ("number_1dp", "70.5", "70.55", "a number with 1 decimal place"),
        ("number_2dp_comma_decimal", "70,55", "70,5", "a number with 2 decimal places"),
        (
            "datetime_dmy",
            "2024-02-29 23:59",
            "2023-02-29 10:00",
            "a real date and time YYYY-MM-DD HH:MM",
        ),
        (
            "datetime_mdy",
            "2021-06-12 08:30",
            "2021-06-12 8:30",
            "a real date and time YYYY-MM-DD HH:MM",
        ),
        (
            "datetime_seconds_ymd",
            "2021-06-12 08:30:05",
            "2021-06-12 08:30",
            "a real date and time YYYY-MM-DD HH:MM:SS",
        ),
        ("time", "23:59", "24:00", "a time HH:MM"),
        ("time_hh_mm_ss", "08:30:00", "08:30", "a time HH:MM:SS"),
    ],
)
def test_text_validations(tmp_path: Path, validation: str, good: str, bad: str, expected: str):
    fields = [("id", "f", "text", "ID", "", ""), ("x", "f", "text", "X", "", validation)]
    root = _project(tmp_path, ["id,x", f'1,"{good}"', "2,", f'3,"{bad}"'], fields)
    source = _source("f", events=None)
    with pytest.raises(UserError) as caught:
        read_redcap(root, [source])
    assert caught.value.line() == (
        f"raw/redcap/records.csv, row 4, column x: value '{bad}' of field x (validation "
        f"{validation}) is not {expected}; {FIX}"
    )
    root = _project(tmp_path, ["id,x", f'1,"{good}"', "2,"], fields)
    assert read_redcap(root, [source])["f"]["x"].tolist() == [good]


def test_field_of_the_instrument_missing_from_the_export(tmp_path: Path):
    records = [RECORDS[0].replace(",smoker,", ",smokes,"), *RECORDS[1:]]
    fields = [*FIELDS, ("smokes", "adverse_events", "text", "S", "", "")]
    assert _error(_project(tmp_path, records, fields)) == (
        "raw/redcap/records.csv, row 1: REDCap field 'smoker' of instrument 'vitals' is not in "
        "the records export; export every field of the instrument"
    )


def test_records_without_the_record_id_column(tmp_path: Path):
    records = [r.replace("record_id,", "subject,", 1) for r in RECORDS]
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 1: the records export has no column for the record id "
        "field 'record_id'; export the records with their record id; it is the first field of "
        "the dictionary"
    )


def test_record_with_an_empty_record_id(tmp_path: Path):
    records = _with(RECORDS, 3, "record_id", " ")
    assert _error(_project(tmp_path, records)) == (
        "raw/redcap/records.csv, row 3, column record_id: the record id is empty; export the "
        "records and the data dictionary of the project together, unchanged"
    )


def test_dictionary_without_a_required_column(tmp_path: Path):
    root = _project(tmp_path)
    path = root / "raw" / "redcap" / "dictionary.csv"
    path.write_text(path.read_text().replace('"Field Type"', '"Type"'))
    assert _error(root) == (
        "raw/redcap/dictionary.csv, row 1: data dictionary has no column 'Field Type'; export "
        "the data dictionary from REDCap (Project Setup, Data Dictionary) unchanged"
    )


def test_dictionary_field_type_and_duplicate_field(tmp_path: Path):
    fields = [*FIELDS[:6], ("hgb", "vitals", "number", "HGB", "", "")]
    assert _error(_project(tmp_path, fields=fields)) == (
        "raw/redcap/dictionary.csv, row 8, column Field Type: field type 'number' of field hgb "
        "is not a REDCap field type; use one of: text, notes, dropdown, radio, checkbox, yesno, "
        "truefalse, calc, slider, file, descriptive, sql"
    )
    fields = [*FIELDS, ("sex", "vitals", "text", "Sex", "", "")]
    assert _error(_project(tmp_path, fields=fields)) == (
        "raw/redcap/dictionary.csv, row 13, column Variable / Field Name: field 'sex' appears "
        "twice in the data dictionary; give every field its own name"
    )


def test_events_file_without_the_form_column(tmp_path: Path):
    root = _project(
        tmp_path, events="arm_num,unique_event_name,instrument\n1,screening_arm_1,vitals\n"
    )
    assert _error(root) == (
        "raw/redcap/events.csv, row 1: the header is none of the REDCap project exports "
        "'events' takes: the instrument designations (arm_num, unique_event_name, form), the "
        "events (event_name, arm_num, unique_event_name) or the arms (arm_num, name); download "
        "it from REDCap unchanged (Define My Events: arms or events; Designate Instruments: "
        "instrument-event mappings; API: content=arm, event or formEventMapping)"
    )


def test_wrong_encoding(tmp_path: Path):
    root = _project(tmp_path)
    path = root / "raw" / "redcap" / "records.csv"
    path.write_bytes(path.read_text().replace("Headache", "Céphalée").encode("latin-1"))
    assert _error(root) == (
        "raw/redcap/records.csv, row 4: byte 0xE9 is not valid utf-8; save the file as UTF-8 "
        "or set 'encoding' for this source in study.yaml"
    )


def test_empty_and_missing_files(tmp_path: Path):
    root = _project(tmp_path)
    folder = root / "raw" / "redcap"
    (folder / "records.csv").write_text("")
    assert _error(root) == (
        "raw/redcap/records.csv: file is empty; export it again from REDCap, with its header row"
    )
    (folder / "dictionary.csv").write_text("")
    assert _error(root) == (
        "raw/redcap/dictionary.csv: file is empty; export it again from REDCap, with its header row"
    )
    (folder / "dictionary.csv").write_text(HEADER + "\n")
    assert _error(root) == (
        "raw/redcap/dictionary.csv: the data dictionary lists no fields; export it from REDCap"
    )
    (folder / "records.csv").unlink()
    assert _error(root) == (
        "raw/redcap/records.csv: REDCap records export of source 'vitals' not found; check "
        "'file' in study.yaml"
    )
