"""REDCap exports, read as `convert` reads a study's REDCap source: `read_tables`, for two
sources that read one export (a form once per event, demographics, and a repeating one,
adverse_events).

One input holds the three files of an export, in this order, split at SEPARATOR: the records,
the data dictionary, the instrument designations. A file the input does not reach is the
fixture's own (so an input without a separator fuzzes the records alone)."""

from __future__ import annotations

from pathlib import Path

from fuzz import material
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.converters.source_tables import read_tables
from trialbridge.study import load_study

MAX_LEN = 32_768
SEPARATOR = b"\n##### next file #####\n"
FILES = ("raw/records.csv", "raw/data_dictionary.csv", "raw/instrument_designations.csv")
STUDY = "extends: ../plmsc-spms/study.yaml\nsources:\n" + "".join(
    f"  - {{name: {name}, file: {FILES[0]}, format: redcap, instrument: {name},\n"
    f"     dictionary: {FILES[1]}, events: {FILES[2]}}}\n"
    for name in ("demographics", "adverse_events")
)


def prepare(work: Path, made: Path) -> Feed:
    fixtures = material.copy_fixtures(made, work)
    root = fixtures / "fuzz-redcap"
    (root / "raw").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    folder = load_study(root)
    source = folder.study.sources[0]
    originals = [(fixtures / "plmsc-spms-redcap" / name).read_bytes() for name in FILES]

    def feed(data: bytes) -> None:
        parts = data.split(SEPARATOR, len(FILES) - 1)
        for name, part in zip(FILES, [*parts, *originals[len(parts) :]], strict=True):
            (root / name).write_bytes(part)
        read_tables(folder, source)

    return feed


def seeds(made: Path) -> dict[str, bytes]:
    """The REDCap fixture whole, its records alone, its first record alone, and a small
    hand-made export."""
    raw = material.fixtures(made) / "plmsc-spms-redcap"
    records, dictionary, designations = ((raw / name).read_bytes() for name in FILES)
    first = b"".join(line for line in records.splitlines(keepends=True)[:1]) + b"".join(
        line for line in records.splitlines(keepends=True)[1:] if line.startswith(b"001,")
    )
    found = {
        "fixture.csv": SEPARATOR.join((records, dictionary, designations)),
        "fixture-records.csv": records,
        "fixture-first-record.csv": SEPARATOR.join((first, dictionary, designations)),
    }
    return under(MAX_LEN, found | fixed_seeds("redcap"))


TOKENS = (
    SEPARATOR,
    b"record_id",
    b"redcap_event_name",
    b"redcap_repeat_instrument",
    b"redcap_repeat_instance",
    b"redcap_data_access_group",
    b"redcap_survey_identifier",
    b"_complete",
    b"___1",
    b"screening_arm_1",
    b"logs_arm_1",
    b"demographics",
    b"adverse_events",
    b"arm_num,unique_event_name,form",
    *(
        b"," + kind + b","
        for kind in (
            b"text",
            b"notes",
            b"radio",
            b"dropdown",
            b"checkbox",
            b"yesno",
            b"truefalse",
            b"calc",
            b"file",
            b"slider",
            b"descriptive",
            b"sql",
        )
    ),
    *(
        b"," + rule + b","
        for rule in (
            b"date_dmy",
            b"date_mdy",
            b"date_ymd",
            b"datetime_dmy",
            b"datetime_seconds_ymd",
            b"integer",
            b"number",
            b"number_2dp",
            b"number_comma_decimal",
            b"time",
            b"time_mm_ss",
            b"email",
            b"phone",
            b"zipcode",
            b"alpha_only",
        )
    ),
    b'"1, Yes | 0, No"',
    b" | ",
    b'"',
    b"\r\n",
    b"\xef\xbb\xbf",
    b"2021-02-29",
    b"9999-12-31",
    b"00:00",
    b"24:00",
)

TARGET = Target("redcap", prepare, seeds, TOKENS, MAX_LEN)
