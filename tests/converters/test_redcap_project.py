"""REDCap as exported: the project's events, arms and instrument designations read by their
headers and added to every table, instruments of the record id alone, missing data codes,
lenient reads, labels exports refused; and a small longitudinal project, modelled on public
REDCap exports, read to a table worked out by hand."""

import csv
from pathlib import Path

import pandas as pd
import pytest

from tests import xpt_reader
from tests.converters.test_redcap import (
    EVENTS,
    FIELDS,
    KEYS,
    LINEAGE,
    RECORDS,
    RECORDS_AT,
    _error,
    _project,
    _rows,
    _source,
    _with,
)
from tests.helpers import run_cli
from trialbridge.converters.lineage import NOTES, ROW
from trialbridge.converters.redcap import read_redcap
from trialbridge.errors import UserErrors, collecting
from trialbridge.study import Source

FOLDER = "raw/redcap"
# as REDCap writes them: a scheduling project's events export (offsets as floats), the arms
EVENT_EXPORT = (
    "event_name,arm_num,day_offset,offset_min,offset_max,unique_event_name,custom_event_label,"
    'event_id\n"Screening",1,0.0,0.0,0.0,screening_arm_1,,2888\n'
    '"Week 4",1,28.0,3,7.50,week_4_arm_1,"Month 1",2889\n'
)
ARMS = 'arm_num,name\n1,"Drug A"\n'
DESIGN = {"event.csv": EVENT_EXPORT, "arm.csv": ARMS, "designations.csv": EVENTS}
EVENT_KEYS = ["redcap_event_label", "redcap_arm_num"]
SCHEDULE = ["redcap_day_offset", "redcap_offset_min", "redcap_offset_max"]
FIX_RAW = (
    'export the raw data: in REDCap, Export Data, "CSV / Microsoft Excel (raw data)"; API: '
    "rawOrLabel=raw, rawOrLabelHeaders=raw"
)
FIX_VALUE = "correct the value in REDCap, or the field in the data dictionary"
MISSING = "NI, No information | UNK, Unknown"


def _design(root: Path, **files: str) -> list[str]:
    """Write project exports beside the records; their paths, as 'events' lists them."""
    for name, text in files.items():
        (root / FOLDER / name).write_text(text)
    return [f"{FOLDER}/{name}" for name in files]


def _read(root: Path, instrument: str = "vitals", **options: object) -> dict[str, pd.DataFrame]:
    return read_redcap(root, [_source(instrument, **options)])


# --- the project's events, arms and designations -------------------------------------------


def test_events_and_arms_exports_give_every_row_its_event(tmp_path: Path):
    root = _project(tmp_path)
    events = _design(root, **DESIGN)[::-1]  # any order
    vs = _read(root, events=events)["vitals"]
    assert list(vs.columns) == [
        *KEYS[:2],
        *EVENT_KEYS,
        "redcap_arm_name",
        *SCHEDULE,
        "redcap_custom_event_label",
        *KEYS[2:],
        *["vsdat", "weight", "smoker", "vitals_complete"],
        *LINEAGE,
    ]
    screening = ["Screening", "1", "Drug A", "0", "0", "0", None]
    week_4 = ["Week 4", "1", "Drug A", "28", "3", "7.5", "Month 1"]  # 28.0 -> 28, 7.50 -> 7.5
    assert _rows(vs) == [
        ["001", "screening_arm_1", *screening, None, None, "2021-01-05", "70.5", "0", "2"],
        ["001", "week_4_arm_1", *week_4, None, None, "2021-02-02", "71", "1", "1"],
        ["002", "week_4_arm_1", *week_4, None, None, "2021-02-09", None, None, "1"],
    ]
    assert vs[ROW].tolist() == [2, 3, 8]
    assert all(str(vs[name].dtype) == "str" for name in [*EVENT_KEYS, *SCHEDULE])


def test_the_events_export_alone_lets_every_event_hold_every_instrument(tmp_path: Path):
    """Vitals filled at week 4: the designations below would refuse them, the events export
    alone (REDCapR's header: no offsets, an event_id) says nothing against them."""
    events = "event_name,arm_num,unique_event_name,custom_event_label,event_id\n"
    events += '"Screening",1,screening_arm_1,,12357\n"Week 4",1,week_4_arm_1,,12358\n'
    designations = "arm_num,unique_event_name,form\n1,screening_arm_1,vitals\n"
    root = _project(tmp_path, events=designations)
    vs = _read(root, events=_design(root, **{"event.csv": events}))["vitals"]
    assert list(vs.columns)[:5] == [*KEYS[:2], *EVENT_KEYS, "redcap_custom_event_label"]
    assert vs[["redcap_event_label", "vsdat"]].values.tolist() == [
        ["Screening", "2021-01-05"],
        ["Week 4", "2021-02-02"],
        ["Week 4", "2021-02-09"],
    ]


def test_designations_and_arms_give_the_arm(tmp_path: Path):
    root = _project(tmp_path)
    events = _design(root, **{"designations.csv": EVENTS, "arm.csv": ARMS})
    dm = _read(root, "demographics", events=events)["demographics"]
    assert list(dm.columns)[:4] == [*KEYS[:2], "redcap_arm_num", "redcap_arm_name"]
    assert dm[["redcap_arm_num", "redcap_arm_name"]].values.tolist() == [["1", "Drug A"]] * 2


def test_records_event_not_in_the_events_export(tmp_path: Path):
    root = _project(tmp_path, _with(RECORDS, 5, "redcap_event_name", "week_8_arm_1"))
    events = _design(root, **{"event.csv": EVENT_EXPORT})
    assert _error(root, _source("vitals", events=events)) == (
        f"{RECORDS_AT}, row 5, column redcap_event_name: event 'week_8_arm_1' is not in the "
        "events export; export the records and the data dictionary of the project together, "
        "unchanged"
    )


FIX_EVENTS = "download the events from REDCap unchanged (Define My Events; API: content=event)"
FIX_TOGETHER = "download the events, arms and instrument designations of one project, unchanged"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a.csv": EVENTS, "b.csv": EVENTS},
            f"{FOLDER}/b.csv, row 1: a second instrument designations file in 'events' (the "
            f"first is {FOLDER}/a.csv); give 'events' of source 'vitals' one file of each kind",
        ),
        (
            {"arm.csv": ARMS},
            f"{FOLDER}/arm.csv: the arms export is given without the events export or the "
            "instrument designations, which say each event's arm; add one of them to 'events' "
            "in study.yaml",
        ),
        (
            {"event.csv": EVENT_EXPORT.replace("week_4_arm_1", "week_5_arm_1"), "d.csv": EVENTS},
            f"{FOLDER}/d.csv, row 4, column unique_event_name: event 'week_4_arm_1' is not in "
            f"the events export; {FIX_TOGETHER}",
        ),
        (
            {"event.csv": EVENT_EXPORT, "arm.csv": 'arm_num,name\n2,"Drug B"\n'},
            f"{FOLDER}/event.csv, row 2, column arm_num: arm '1' is not in the arms export; "
            f"{FIX_TOGETHER}",
        ),
        (
            {"event.csv": EVENT_EXPORT.replace("28.0", "4 weeks")},
            f"{FOLDER}/event.csv, row 3, column day_offset: day_offset '4 weeks' of event "
            f"'week_4_arm_1' is not a number of days; {FIX_EVENTS}",
        ),
        (
            {"event.csv": EVENT_EXPORT.replace("week_4_arm_1", "screening_arm_1")},
            f"{FOLDER}/event.csv, row 3, column unique_event_name: unique_event_name "
            f"'screening_arm_1' appears twice in the events export; {FIX_EVENTS}",
        ),
        (
            {"event.csv": EVENT_EXPORT.replace('"Week 4",1,', '"Week 4",,')},
            f"{FOLDER}/event.csv, row 3, column arm_num: event 'week_4_arm_1' has no arm_num; "
            f"{FIX_EVENTS}",
        ),
        (
            {"arm.csv": ARMS + "1,Placebo\n", "d.csv": EVENTS},
            f"{FOLDER}/arm.csv, row 3, column arm_num: arm_num '1' appears twice in the arms "
            "export; download the arms from REDCap unchanged (Define My Events; API: "
            "content=arm)",
        ),
    ],
)
def test_project_exports_that_do_not_fit(tmp_path: Path, files: dict[str, str], expected: str):
    root = _project(tmp_path)
    assert _error(root, _source("vitals", events=_design(root, **files))) == expected


# --- an instrument of the record id alone ----------------------------------------------------


def test_an_instrument_of_the_record_id_alone_has_a_row_per_event_it_is_in(tmp_path: Path):
    """As REDCap lets a project keep its record id on a form of its own (redcapAPI's test
    project does): the form holds no value, yet each of its events' rows is a record."""
    fields = [("record_id", "registry", "text", "Record ID", "", ""), *FIELDS[1:]]
    root = _project(tmp_path, fields=fields, events=EVENTS + "1,screening_arm_1,registry\n")
    registry = _read(root, "registry")["registry"]
    assert list(registry.columns) == [*KEYS, *LINEAGE]
    assert _rows(registry) == [
        ["001", "screening_arm_1", None, None],
        ["002", "screening_arm_1", None, None],
    ]
    assert registry[ROW].tolist() == [2, 6]
    assert registry.attrs["rows_skipped"] == {
        "blank": 1,
        "bad field count": 0,
        "rows of other instruments": 4,  # week 4 (3, 8) and its adverse events (4, 5)
        "rows holding no instrument's values": 0,
    }
    # with the events export alone, every event holds it: each row but the repeating ones
    events = _design(root, **{"event.csv": EVENT_EXPORT})
    registry = _read(root, "registry", events=events)["registry"]
    assert registry[ROW].tolist() == [2, 3, 6, 8]


# --- missing data codes -----------------------------------------------------------------------


def _with_missing_column(records: list[str]) -> list[str]:
    """REDCap's column for the code NI of checkbox race (UNK is a choice of it already)."""
    out = []
    for row in records:
        cells = row.split(",")
        if row:
            cells.insert(9, "race___ni" if cells[0] == "record_id" else cells[8])
        out.append(",".join(cells))
    return out


def test_missing_codes_fit_every_field_and_get_their_checkbox_column(tmp_path: Path):
    records = _with_missing_column(RECORDS)
    records = _with(_with(records, 6, "sex", "NI"), 2, "dob", "UNK")
    records = _with(_with(records, 6, "race___ni", "1"), 3, "weight", "UNK")
    root = _project(tmp_path, _with(records, 8, "smoker", "NI"))
    tables = read_redcap(
        root, [_source(name, missing_codes=MISSING) for name in ("demographics", "vitals")]
    )
    dm = tables["demographics"]
    assert list(dm.columns) == [
        *KEYS,
        *["sex", "dob", "race___1", "race___2", "race___unk", "race___ni"],
        "demographics_complete",
        *LINEAGE,
    ]
    assert _rows(dm) == [
        ["001", "screening_arm_1", None, None, "1", "UNK", "1", "0", "0", "0", "2"],
        ["002", "screening_arm_1", None, None, "NI", None, "0", "0", "1", "1", "1"],
    ]
    assert tables["vitals"][["weight", "smoker"]].fillna("").values.tolist() == [
        ["70.5", "0"],
        ["UNK", "1"],
        ["", "NI"],
    ]


def test_missing_codes_one_a_line_and_checkboxes_still_0_or_1(tmp_path: Path):
    records = _with(_with_missing_column(RECORDS), 6, "race___1", "NI")
    root = _project(tmp_path, records)
    source = _source("demographics", missing_codes="NI, No information\nUNK, Unknown\n")
    assert _error(root, source) == (
        f"{RECORDS_AT}, row 6, column race___1: value 'NI' of field race___1 (checkbox) is not "
        f"0 or 1; {FIX_VALUE}"
    )


def test_a_missing_code_column_absent_from_the_export(tmp_path: Path):
    assert _error(_project(tmp_path), _source("demographics", missing_codes=MISSING)) == (
        f"{RECORDS_AT}, row 1: REDCap field 'race___ni' of instrument 'demographics' is not in "
        "the records export; export every field of the instrument, or set 'missing_codes' as "
        "the project has them"
    )


def test_a_missing_code_redcap_would_not_take(tmp_path: Path):
    source = _source("vitals", missing_codes="NI, No information | N/A, Not applicable")
    assert _error(_project(tmp_path), source) == (
        "study.yaml: missing data code 'N/A' of source 'vitals' holds a character other than "
        "letters, digits, '.', '-' and '_'; set 'missing_codes' as the project's settings list "
        "them, e.g. 'NI, No information | UNK, Unknown'"
    )


def test_a_missing_code_that_is_also_a_missing_marker(tmp_path: Path):
    """The fmc-clavicle project has the code NA (not applicable): read as a blank, it would
    be lost."""
    source = _source("vitals", missing_codes="NI, No information | NA, Not applicable")
    assert _error(_project(tmp_path), source) == (
        "study.yaml: missing data code 'NA' of source 'vitals' is in its 'missing' list too, so "
        "it would be read as an empty value; take 'NA' out of 'missing'"
    )


def test_sources_of_one_export_with_other_missing_codes(tmp_path: Path):
    sources = [_source("vitals", missing_codes=MISSING), _source("demographics")]
    assert _error(_project(tmp_path), *sources) == (
        "study.yaml: sources 'vitals', 'demographics' read one REDCap export with different "
        "'missing_codes'; give every source of the export the project's missing data codes"
    )


# --- lenient ----------------------------------------------------------------------------------


def test_lenient_keeps_misfits_and_notes_each_kind_once(tmp_path: Path):
    records = _with(_with(RECORDS, 3, "weight", "71kg"), 8, "weight", "seventy")
    records = _with(_with(records, 2, "smoker", "yes"), 2, "vitals_complete", "3")
    root = _project(tmp_path, records)
    sources = [_source("vitals", name, lenient=True) for name in ("vs", "vs_again")]
    tables = read_redcap(root, sources)
    vs = tables["vs"]
    assert vs[["weight", "smoker", "vitals_complete"]].fillna("").values.tolist() == [
        ["70.5", "yes", "3"],
        ["71kg", "1", "1"],
        ["seventy", "", "1"],
    ]
    at = f"(first at {RECORDS_AT}, row"
    assert vs.attrs[NOTES] == [
        f"lenient: 2 kept values of field weight (validation number), not a number: '71kg', "
        f"'seventy' {at} 3, column weight)",
        f"lenient: 1 kept value of field smoker (yesno), not 0 or 1: 'yes' {at} 2, column smoker)",
        "lenient: 1 kept value of field vitals_complete (form status), not 0, 1 or 2: '3' "
        f"{at} 2, column vitals_complete)",
    ]
    assert tables["vs_again"].attrs[NOTES] == vs.attrs[NOTES]  # a copy keeps them


def test_a_strict_source_beside_a_lenient_one_still_fails(tmp_path: Path):
    root = _project(tmp_path, _with(RECORDS, 3, "weight", "71kg"))
    with pytest.raises(UserErrors), collecting() as problems:
        read_redcap(root, [_source("vitals", "lenient", lenient=True), _source("vitals")])
    assert [e.line() for e in problems.kept] == [
        f"{RECORDS_AT}, row 3, column weight: value '71kg' of field weight (validation number) "
        f"is not a number; {FIX_VALUE}"
    ]


def test_lenient_checkbox_and_choices_but_not_structure(tmp_path: Path):
    records = _with(_with(RECORDS, 6, "race___2", "2"), 6, "sex", "3")
    dm = _read(_project(tmp_path, records), "demographics", lenient=True)["demographics"]
    assert [note.split(":")[1] for note in dm.attrs[NOTES]] == [
        " 1 kept value of field sex (radio), not one of its choice codes 1, 2",
        " 1 kept value of field race___2 (checkbox), not 0 or 1",
    ]
    records = _with(RECORDS, 5, "redcap_event_name", "week_8_arm_1")
    assert _error(_project(tmp_path, records), _source("vitals", lenient=True)).startswith(
        f"{RECORDS_AT}, row 5, column redcap_event_name: event 'week_8_arm_1' is not in the "
        "instrument designations;"
    )


# --- labels exports -----------------------------------------------------------------------------

LABEL_HEADER = (
    "Record ID,Event Name,Repeat Instrument,Repeat Instance,Sex,Date of birth,"
    "Race (choice=White),Race (choice=Black),Race (choice=Unknown),Complete?,Visit date,"
    "Weight,Smoker,Complete?,Term,Start,Serious,Complete?"
)


@pytest.mark.parametrize(
    ("header", "column", "said"),
    [
        (
            LABEL_HEADER,
            "Record ID",
            "header 'Record ID' is the label of the record id field record_id",
        ),
        (
            LABEL_HEADER.replace("Record ID", "ID"),
            "Race (choice=White)",
            "header 'Race (choice=White)' is the label of a checkbox choice",
        ),
        (
            "ID,Event Name,Sex,Complete?,Weight,Complete?",
            "Complete?",
            "header 'Complete?' is the label of a form status",
        ),
    ],
)
def test_a_labels_header_is_refused(tmp_path: Path, header: str, column: str, said: str):
    root = _project(tmp_path, [header, *RECORDS[1:]])
    assert _error(root) == (
        f"{RECORDS_AT}, row 1, column {column}: this is a labels export, not raw data: {said}; "
        f"{FIX_RAW}"
    )


@pytest.mark.parametrize(
    ("row", "column", "value", "said"),
    [
        (2, "sex", "Male", "value 'Male' of field sex is a choice's label, not its code"),
        (2, "smoker", "No", "value 'No' of field smoker is a choice's label, not its code"),
        (
            2,
            "vitals_complete",
            "Complete",
            "value 'Complete' of field vitals_complete is a choice's label, not its code",
        ),
        (
            5,
            "redcap_event_name",
            "Week 4 (Arm 1: Drug A)",
            "event 'Week 4 (Arm 1: Drug A)' is an event's label, not its unique name",
        ),
    ],
)
def test_label_values_are_refused(tmp_path: Path, row: int, column: str, value: str, said: str):
    if column == "redcap_event_name":
        records = _with(RECORDS, row, column, value)
    else:  # a column of labels: every filled value one
        records = _labelled(RECORDS, column)
    assert _error(_project(tmp_path, records)) == (
        f"{RECORDS_AT}, row {row}, column {column}: this is a labels export, not raw data: "
        f"{said}; {FIX_RAW}"
    )


def _labelled(records: list[str], column: str) -> list[str]:
    labels = {
        "sex": {"1": "Male", "2": "Female"},
        "smoker": {"0": "No", "1": "Yes"},
        "vitals_complete": {"0": "Incomplete", "1": "Unverified", "2": "Complete"},
    }[column]
    at = records[0].split(",").index(column)
    out = [records[0]]
    for row in records[1:]:
        cells = row.split(",")
        if row:
            cells[at] = labels.get(cells[at], cells[at])
        out.append(",".join(cells))
    return out


def test_an_event_name_for_its_unique_name_is_a_label(tmp_path: Path):
    root = _project(tmp_path, _with(RECORDS, 3, "redcap_event_name", "Week 4"))
    events = _design(root, **{"event.csv": EVENT_EXPORT})
    assert _error(root, _source("vitals", events=events)) == (
        f"{RECORDS_AT}, row 3, column redcap_event_name: this is a labels export, not raw "
        f"data: event 'Week 4' is an event's label, not its unique name; {FIX_RAW}"
    )


def test_a_column_holding_a_code_is_raw_whatever_its_labels(tmp_path: Path):
    fields = [*FIELDS[:2], ("sex", "demographics", "radio", "Sex", "1, 1 | 2, NI", ""), *FIELDS[3:]]
    records = _with_missing_column(_with(RECORDS, 6, "sex", "NI"))
    root = _project(tmp_path, records, fields)
    dm = _read(root, "demographics", missing_codes=MISSING)["demographics"]
    assert dm["sex"].tolist() == ["1", "NI"]


# --- a project as REDCap exports it (tests/edc_shapes/redcap) --------------------------------

SHAPE = Path(__file__).parent.parent / "edc_shapes" / "redcap"


def test_the_fixture_project_gives_the_vitals_table_worked_out_by_hand():
    source = Source(
        name="vital_signs",
        file="raw/records.csv",
        format="redcap",
        instrument="vital_signs",
        dictionary="raw/data_dictionary.csv",
        events=["raw/events.csv", "raw/arms.csv", "raw/instrument_designations.csv"],
        missing_codes=MISSING,
    )
    table = read_redcap(SHAPE, [source])["vital_signs"]
    with (SHAPE / "expected" / "vitals.csv").open(newline="") as handle:
        expected = list(csv.reader(handle))
    got = table.astype(object).where(table.notna(), "").astype(str)
    assert [list(got.columns), *got.values.tolist()] == expected


def _dataset(path: Path, names: list[str]) -> list[list[object]]:
    """The rows of an XPT file, as the named variables."""
    _, _, variables, rows = xpt_reader.read(path)
    at = [[v["name"] for v in variables].index(name) for name in names]
    return [[row[i] for i in at] for row in rows]


def test_the_fixture_study_converts_with_visits_from_the_event_names(tmp_path: Path):
    """VISIT from redcap_event_label, VSDY from the baseline; a missing data code (UNK, NI) is
    a test not done; the arm's name from the arms export, race from the checkbox's columns."""
    out = tmp_path / "out"
    result = run_cli("convert", SHAPE, "--out", out)
    assert result.exit_code == 0, result.output
    names = ["USUBJID", "RFSTDTC", "BRTHDTC", "SEX", "RACE", "ARM"]
    assert _dataset(out / "sdtm" / "dm.xpt", names) == [
        ["TB-REDCAP-1", "2024-01-08T09:15", "1987-03-14", "F", "WHITE", "Drug A"],
        [
            "TB-REDCAP-2",
            "2024-01-10T14:30",
            "1979-11-30",
            "M",
            "BLACK OR AFRICAN AMERICAN",
            "Drug A",
        ],
        ["TB-REDCAP-3", "2024-02-05T11:20", "1992-06-02", "F", "UNKNOWN", "Placebo"],
    ]
    names = ["USUBJID", "VSTESTCD", "VISIT", "VSDTC", "VSDY", "VSORRES", "VSSTAT", "VSREASND"]
    vs = _dataset(out / "sdtm" / "vs.xpt", names)
    assert len(vs) == 31  # 8 rows x 4 tests, less subject 3's blank week 2 weight
    temp = [row for row in vs if row[:2] == ["TB-REDCAP-1", "TEMP"]]
    assert temp == [
        ["TB-REDCAP-1", "TEMP", "BASELINE", "2024-01-08T09:15", 1.0, "36.6", "", ""],
        ["TB-REDCAP-1", "TEMP", "WEEK 1", "2024-01-15T08:40", 8.0, "36.8", "", ""],
        ["TB-REDCAP-1", "TEMP", "WEEK 2", "2024-01-22T10:05", 15.0, "", "NOT DONE", "UNKNOWN"],
    ]
    weight = [row for row in vs if row[:2] == ["TB-REDCAP-2", "WEIGHT"]]
    assert weight == [
        ["TB-REDCAP-2", "WEIGHT", "BASELINE", "2024-01-10T14:30", 1.0, "88", "", ""],
        ["TB-REDCAP-2", "WEIGHT", "WEEK 1", "2024-01-17", 8.0, "", "NOT DONE", "NO INFORMATION"],
    ]
