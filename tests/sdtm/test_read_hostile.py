"""The SDTM readers on damaged and hostile files, beyond the one-line cases of the corpus
(tests/corpus/cases/xpt.yaml, datasetjson.yaml, define.yaml): what is read when a file
repeats a variable name, Latin-1 text, Dataset-JSON's other data types, every bad value of a
column gathered at once, every broken file of a folder gathered at once, bounds refused
before anything is allocated, and the files a folder scan leaves alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from tests.corpus.makers import xpt as damage
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.sdtm import datasetjson, xpt
from trialbridge.sdtm.read import (
    dataset_files,
    holds_dataset_json_ndjson,
    read_folder,
    repeated_names,
)
from trialbridge.sdtm.xport_read import read_xport


def _xpt(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    """An XPT file written by pyreadstat, the independent writer."""
    path = folder / f"{name.lower()}.xpt"
    pyreadstat.write_xport(frame, str(path), table_name=name, file_format_version=5)
    return path


def _ae(folder: Path) -> Path:
    frame = pd.DataFrame(
        {
            "USUBJID": ["S-1", "S-2"],
            "AESEQ": [1.0, 2.0],
            "AETERM": ["Headache", "Nausea"],
            "AEDECOD": ["HEADACHE", "NAUSEA"],
        }
    )
    return _xpt(folder, "AE", frame)


def test_a_repeated_variable_name_keeps_the_first_and_lists_the_rest(tmp_path: Path):
    path = _ae(tmp_path)
    path.write_bytes(damage.namestr(tmp_path, path, "AEDECOD", "name", text="AETERM"))
    read = read_xport(path)
    assert [v.name for v in read.variables] == ["USUBJID", "AESEQ", "AETERM"]
    assert read.frame["AETERM"].tolist() == ["Headache", "Nausea"]  # the first AETERM
    # USUBJID takes bytes 0-2, AESEQ 3-10, AETERM 11-18: the renamed AEDECOD starts at 19
    assert [(v.name, v.position, v.width) for v in read.repeated] == [("AETERM", 19, 8)]
    table = xpt.read_table(path)
    assert [c.name for c in table.columns] == ["USUBJID", "AESEQ", "AETERM"]
    assert [(c.name, c.type, c.length) for c in table.repeated] == [("AETERM", "Char", 8)]


def test_commands_that_carry_data_on_refuse_a_repeated_name(tmp_path: Path):
    path = _ae(tmp_path)
    path.write_bytes(damage.namestr(tmp_path, path, "AEDECOD", "name", text="AETERM"))
    datasets = read_folder(tmp_path)
    assert [c.name for c in datasets["AE"].source.repeated] == ["AETERM"]
    with pytest.raises(UserError) as caught:
        repeated_names(tmp_path, datasets)
    assert caught.value.line() == (
        f"{tmp_path / 'ae.xpt'}: the file has more than one variable named AETERM (only the"
        " first was read); rename or drop the repeated variables"
    )


def test_text_that_is_not_utf8_is_read_as_latin1(tmp_path: Path):
    path = _xpt(tmp_path, "AE", pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AETERM": ["ab", "cd"]}))
    data = path.read_bytes()
    at = data.rindex(b"ab")
    path.write_bytes(data[:at] + b"\xe9t" + data[at + 2 :])  # 'ét' in Latin-1
    assert read_xport(path).frame["AETERM"].tolist() == ["ét", "cd"]


def test_a_hostile_variable_count_is_refused_before_reading(tmp_path: Path):
    path = _ae(tmp_path)
    huge = damage.patched(tmp_path, path, at=614, text="9999")
    path.write_bytes(huge + b" " * 80 * 10_000)  # 800 kB: too short for 9999 variables
    with pytest.raises(UserError, match="declares 9999 variables, whose records need 1400640"):
        read_xport(path)


def _document(columns: list[dict], rows: list[list], **extra: object) -> dict:
    return {"name": "DM", "label": "Demographics", "columns": columns, "rows": rows, **extra}


def _column(name: str, data_type: str, **extra: object) -> dict:
    return {"itemOID": f"IT.DM.{name}", "name": name, "label": name, "dataType": data_type, **extra}


def test_dataset_json_types_beyond_string_and_double(tmp_path: Path):
    columns = [
        _column("USUBJID", "string", length=3),
        _column("BRTHDTC", "date"),  # ISO 8601 text in 1.1
        _column("WEIGHT", "decimal"),  # decimals are text in 1.1, so no digit is lost
        _column("FLAG", "boolean"),
        _column("AGE", "integer"),
    ]
    rows = [["S-1", "1983-03-14", "71.25", True, 38], ["S-2", None, 70, False, None]]
    path = tmp_path / "dm.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_document(columns, rows)).encode())  # a BOM
    table = datasetjson.read(path)
    assert [(c.name, c.type, c.length, c.data_type) for c in table.columns] == [
        ("USUBJID", "Char", 3, "string"),
        ("BRTHDTC", "Char", 10, "date"),  # no length given: the longest value
        ("WEIGHT", "Num", 8, "decimal"),
        ("FLAG", "Num", 8, "boolean"),
        ("AGE", "Num", 8, "integer"),
    ]
    assert table.frame["BRTHDTC"].tolist()[0] == "1983-03-14"
    assert pd.isna(table.frame["BRTHDTC"].iloc[1])
    assert table.frame["WEIGHT"].tolist() == [71.25, 70.0]
    assert table.frame["FLAG"].tolist() == [1.0, 0.0]
    assert table.frame["AGE"].iloc[0] == 38.0 and np.isnan(table.frame["AGE"].iloc[1])


def test_a_repeated_dataset_json_column_keeps_the_first(tmp_path: Path):
    columns = [_column("USUBJID", "string"), _column("AGE", "integer"), _column("AGE", "string")]
    path = tmp_path / "dm.json"
    path.write_text(json.dumps(_document(columns, [["S-1", 38, "old"]])))
    table = datasetjson.read(path)
    assert [c.name for c in table.columns] == ["USUBJID", "AGE"]
    assert table.frame["AGE"].tolist() == [38.0]
    assert [(c.name, c.data_type) for c in table.repeated] == [("AGE", "string")]


def test_every_bad_value_of_a_column_is_gathered(tmp_path: Path):
    columns = [_column("USUBJID", "string"), _column("AGE", "integer")]
    rows = [["S-1", "forty"], ["S-2", 41], ["S-3", "n/a"], [4, None], ["S-5", 1.5], ["S-6", 7.0]]
    path = tmp_path / "dm.json"
    path.write_text(json.dumps(_document(columns, rows)))
    with pytest.raises(UserErrors) as caught, collecting():
        datasetjson.read(path)
    problems = caught.value.problems
    assert problems.total == 4
    assert [e.line() for e in problems.kept] == [
        f"{path}, row 4, column USUBJID: 4 is not text (the column's dataType is string);"
        " correct the value, or the column's dataType",
        f"{path}, row 1, column AGE: 'forty' is not a whole number (the column's dataType is "
        "integer); correct the value, or the column's dataType",
        f"{path}, row 3, column AGE: 'n/a' is not a whole number (the column's dataType is "
        "integer); correct the value, or the column's dataType",
        f"{path}, row 5, column AGE: 1.5 is not a whole number (the column's dataType is "
        "integer); correct the value, or the column's dataType",
    ]
    assert [(e.file, e.row, e.column) for e in problems.kept] == [
        (str(path), 4, "USUBJID"),
        (str(path), 1, "AGE"),
        (str(path), 3, "AGE"),
        (str(path), 5, "AGE"),
    ]
    all_numbers = [["S-1", 38], ["S-2", 1.5]]
    path.write_text(json.dumps(_document(columns, all_numbers)))
    with pytest.raises(UserError) as one:
        datasetjson.read(path)
    assert one.value.line() == (
        f"{path}, row 2, column AGE: 1.5 is not a whole number (the column's dataType is "
        "integer); correct the value, or the column's dataType"
    )


def test_ndjson_blank_lines_carry_nothing_and_keep_line_numbers(tmp_path: Path):
    head = {"name": "DM", "label": "", "columns": [_column("USUBJID", "string")]}
    path = tmp_path / "dm.ndjson"
    path.write_text(json.dumps(head) + '\n["S-1"]\n\n["S-2"]\n[7]\n')
    with pytest.raises(UserError) as caught:
        datasetjson.read(path)
    assert caught.value.line() == (
        f"{path}, line 5, column USUBJID: 7 is not text (the column's dataType is string);"
        " correct the value, or the column's dataType"
    )
    path.write_text(json.dumps(head) + '\n["S-1"]\n\n["S-2"]\n')
    assert datasetjson.read(path).frame["USUBJID"].tolist() == ["S-1", "S-2"]


def test_every_broken_file_of_a_folder_is_reported_at_once(tmp_path: Path):
    _ae(tmp_path)
    (tmp_path / "dm.xpt").write_bytes(b"not a transport file")
    (tmp_path / "lb.xpt").write_bytes(b"")
    with pytest.raises(UserErrors) as caught, collecting():
        read_folder(tmp_path)
    problems = caught.value.problems
    assert problems.total == 2
    assert [(e.file, e.what) for e in problems.kept] == [
        (str(tmp_path / "dm.xpt"), "not a SAS XPORT v5 file"),
        (str(tmp_path / "lb.xpt"), "not a SAS XPORT v5 file"),
    ]


def test_own_reports_and_json_beside_xpt_are_skipped_and_counted(tmp_path: Path):
    (tmp_path / "validation.json").write_text('{"summary": []}')
    (tmp_path / "define.json").write_text("{}")
    assert dataset_files(tmp_path).datasets == []
    _ae(tmp_path)
    (tmp_path / "ae.json").write_text("{}")
    found = dataset_files(tmp_path)
    assert found.datasets == [tmp_path / "ae.xpt"]
    assert found.skipped == [
        (tmp_path / "ae.json", "JSON beside XPT files (the XPT files are read)"),
        (tmp_path / "define.json", "not a dataset"),
        (tmp_path / "validation.json", "trialbridge's validation report"),
    ]
    assert list(read_folder(tmp_path)) == ["AE"]


def test_extensions_in_any_case_are_read_and_hidden_files_skipped(tmp_path: Path):
    _ae(tmp_path).rename(tmp_path / "AE.XPT")
    (tmp_path / "._AE.XPT").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    found = dataset_files(tmp_path)
    assert found.datasets == [tmp_path / "AE.XPT"]
    assert found.skipped == [(tmp_path / "._AE.XPT", "a hidden file")]
    assert read_folder(tmp_path)["AE"].source.name == "AE.XPT"  # TB0057 names it


def test_dataset_json_ndjson_is_told_from_fhir_ndjson(tmp_path: Path):
    head = {"name": "DM", "columns": [_column("USUBJID", "string")]}
    (tmp_path / "dm.ndjson").write_text(json.dumps(head) + '\n["S-1"]\n')
    assert holds_dataset_json_ndjson(tmp_path)
    fhir = tmp_path / "fhir"
    fhir.mkdir()
    (fhir / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\n')
    (fhir / "broken.ndjson").write_text("{not json\n")
    assert not holds_dataset_json_ndjson(fhir)


def test_names_from_a_file_are_escaped_and_cut_on_the_line(tmp_path: Path):
    """A Dataset-JSON name and repeated column names are quoted with control characters
    escaped and cut (an 891-character line with an ESC in it went to the terminal)."""
    name = "\x1b[2J" + "X" * 900
    document = _document([_column("USUBJID", "string")], [["S-1"]]) | {"name": name}
    (tmp_path / "a.json").write_text(json.dumps(document))
    (tmp_path / "b.json").write_text(json.dumps(document))
    with pytest.raises(UserError) as caught:
        read_folder(tmp_path)
    assert caught.value.line() == (
        f"{tmp_path / 'b.json'}: holds dataset \\x1b[2J{'X' * 56}..., as a.json does; keep one "
        "file per dataset in the folder"
    )
    columns = [_column("USUBJID", "string")] + [_column(f"V\x07{n}", "string") for n in range(30)]
    rows = [["S-1"] + ["a"] * 30]
    twice = _document(columns + columns[1:], [rows[0] + rows[0][1:]])
    for path in tmp_path.iterdir():
        path.unlink()
    (tmp_path / "dm.json").write_text(json.dumps(twice))
    with pytest.raises(UserError) as caught:
        repeated_names(tmp_path, read_folder(tmp_path))
    line = caught.value.line()
    assert "\x07" not in line and line.count("\\x07") == 20 and "... (30 in all)" in line
