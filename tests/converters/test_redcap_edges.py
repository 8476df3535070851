"""REDCap exports at the edges: a broken dictionary or designation file is one line, the
records' problems are all reported in one run (unknown columns, empty record ids, unknown
events, misfit values, values in rows that are not their instrument's), short rows are errors,
and every table counts the rows of the export it left out."""

from pathlib import Path

import pytest

from tests.converters.test_redcap import (
    DICTIONARY_AT,
    EVENTS_AT,
    FIELDS,
    RECORDS,
    RECORDS_AT,
    _error,
    _project,
    _source,
    _with,
)
from trialbridge.converters.redcap import read_redcap
from trialbridge.errors import KEEP_PER_KIND, UserErrors, collecting

FIX_EXPORT = "export the records and the data dictionary of the project together, unchanged"


def _gathered(root: Path, *instruments: str) -> list[str]:
    with pytest.raises(UserErrors), collecting() as problems:
        read_redcap(root, [_source(i) for i in instruments or ("vitals",)])
    return [e.line() for e in problems.kept]


def test_every_table_counts_the_rows_it_left_out(tmp_path: Path):
    tables = read_redcap(_project(tmp_path), [_source("vitals"), _source("adverse_events")])
    # 7 rows below the header: row 7 blank; vitals takes 2, 3, 8; AE takes 4, 5
    assert tables["vitals"].attrs == {
        "rows_read": 7,
        "rows_skipped": {
            "blank": 1,
            "bad field count": 0,
            "rows of other instruments": 3,  # 4 and 5 (AE), 6 (demographics)
            "rows holding no instrument's values": 0,
        },
    }
    assert tables["adverse_events"].attrs["rows_skipped"]["rows of other instruments"] == 4


def test_a_row_holding_only_its_keys_is_counted(tmp_path: Path):
    records = [*RECORDS, "002,screening_arm_1,,,,,0,0,0,0,,,,0,,,,"]  # row 9: statuses only
    vs = read_redcap(_project(tmp_path, records), [_source("vitals")])["vitals"]
    assert vs.attrs["rows_skipped"]["rows holding no instrument's values"] == 1


def test_a_short_records_row_is_an_error(tmp_path: Path):
    records = [*RECORDS[:3], "001,week_4_arm_1,adverse_events,1,,,,,,,,,,,Headache"]
    assert _error(_project(tmp_path, records)) == (
        f"{RECORDS_AT}, row 4: the row has 15 fields, the header has 18; add the missing fields "
        "(an empty value keeps its delimiter)"
    )


def test_every_unknown_column_is_named_then_the_run_stops(tmp_path: Path):
    header = RECORDS[0].replace(",sex,", ",gender,").replace(",weight,", ",wt,")
    lines = _gathered(_project(tmp_path, [header, *RECORDS[1:]]))
    assert lines == [
        f"{RECORDS_AT}, row 1, column {name}: REDCap field '{name}' is not in the data "
        f"dictionary; {FIX_EXPORT}"
        for name in ("gender", "wt")
    ]


def test_every_empty_record_id_and_unknown_event(tmp_path: Path):
    records = _with(_with(RECORDS, 3, "record_id", ""), 5, "record_id", "")
    records = _with(records, 6, "redcap_event_name", "week_5_arm_1")
    assert _gathered(_project(tmp_path, records)) == [
        f"{RECORDS_AT}, row 3, column record_id: the record id is empty; {FIX_EXPORT}",
        f"{RECORDS_AT}, row 5, column record_id: the record id is empty; {FIX_EXPORT}",
        f"{RECORDS_AT}, row 6, column redcap_event_name: event 'week_5_arm_1' is not in the "
        f"instrument designations; {FIX_EXPORT}",
    ]


def test_300_bad_values_in_one_run(tmp_path: Path):
    rows = [f"{i:03},screening_arm_1,,,,,0,0,0,,2021-02-30,70,0,2,,,," for i in range(300)]
    with pytest.raises(UserErrors), collecting() as problems:
        read_redcap(_project(tmp_path, [RECORDS[0], *rows]), [_source("vitals")])
    assert problems.total == 300
    assert len(problems.kept) == KEEP_PER_KIND
    assert problems.kept[-1].line() == (
        f"{RECORDS_AT}, row 201, column vsdat: value '2021-02-30' of field vsdat (validation "
        "date_ymd) is not a real date YYYY-MM-DD; correct the value in REDCap, or the field in "
        "the data dictionary"
    )


def test_a_value_shown_in_a_message_is_escaped_and_cut(tmp_path: Path):
    records = _with(RECORDS, 3, "weight", "7" * 300 + "kg")
    assert _error(_project(tmp_path, records)) == (
        f"{RECORDS_AT}, row 3, column weight: value '{'7' * 80}... (302 characters)' of field "
        "weight (validation number) is not a number; correct the value in REDCap, or the field "
        "in the data dictionary"
    )


def test_a_control_character_in_a_record(tmp_path: Path):
    records = _with(RECORDS, 4, "aeterm", "Head\x1bache")
    assert _error(_project(tmp_path, records), _source("adverse_events")) == (
        f"{RECORDS_AT}, row 4, column aeterm: the value holds the control character U+001B "
        "(ESC); remove it from the source value: SDTM and FHIR values are printable text"
    )


def test_values_of_an_instrument_in_another_repeating_instrument_s_row(tmp_path: Path):
    records = _with(RECORDS, 5, "weight", "70")  # an adverse event row holds a weight
    assert _error(_project(tmp_path, records)) == (
        f"{RECORDS_AT}, row 5, column redcap_repeat_instrument: the row is one of repeating "
        "instrument 'adverse_events', yet it fills fields of 'vitals'; export the records, the "
        "data dictionary and the instrument designations of one project together; in REDCap, "
        "designate the instrument for the event or clear the values"
    )


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            ("sex", "demographics", "radio", "Sex", "", ""),
            "row 4, column Choices, Calculations, OR Slider Labels: field sex (radio) has no "
            "choices; give its choices as 'code, label | code, label', e.g. '1, Yes | 0, No'",
        ),
        (
            ("sex", "demographics", "radio", "Sex", "1, Male | 1, Female", ""),
            "row 4, column Choices, Calculations, OR Slider Labels: choice code '1' appears "
            "twice in field sex; give every choice of the field its own code",
        ),
        (
            ("sex", "", "radio", "Sex", "1, Male | 2, Female", ""),
            "row 4, column Form Name: field sex has no form name; name the instrument the field "
            "belongs to",
        ),
    ],
)
def test_malformed_dictionary_rows(tmp_path: Path, field: tuple[str, ...], message: str):
    fields = [*FIELDS[:2], field, *FIELDS[3:]]
    assert _error(_project(tmp_path, fields=fields)) == f"{DICTIONARY_AT}, {message}"


def test_a_designation_without_its_event(tmp_path: Path):
    events = "arm_num,unique_event_name,form\n1,screening_arm_1,vitals\n1,,vitals\n"
    assert _error(_project(tmp_path, events=events)) == (
        f"{EVENTS_AT}, row 3, column unique_event_name: form 'vitals' is designated for an "
        "event with no name; export the instrument designations and the data dictionary of the "
        "project together, unchanged"
    )


def test_a_dictionary_short_row(tmp_path: Path):
    root = _project(tmp_path)
    path = root / "raw" / "redcap" / "dictionary.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 5)[0]
    path.write_text("\n".join(lines) + "\n")
    assert _error(root) == (
        f"{DICTIONARY_AT}, row 4: the row has 13 fields, the header has 18; add the missing "
        "fields (an empty value keeps its delimiter)"
    )


def test_dictionary_labels_may_span_lines(tmp_path: Path):
    """REDCap writes a label's line breaks into the dictionary: metadata, not a value."""
    fields = [*FIELDS[:3], ("dob", "demographics", "text", "Date of birth\n(dd-mm-yyyy)", "", "")]
    fields += FIELDS[4:]
    dm = read_redcap(_project(tmp_path, fields=fields), [_source("demographics")])
    assert dm["demographics"]["dob"].fillna("").tolist() == ["1980-02-29", ""]
