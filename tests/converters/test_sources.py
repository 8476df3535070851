"""Source readers: trimmed text, missing markers, spreadsheet row numbers, clear failures."""

from pathlib import Path

import openpyxl
import pytest

from trialbridge.converters.sources import COLUMN, FILE, ROW, read_source
from trialbridge.errors import UserError
from trialbridge.study import Source


def test_csv_values_are_trimmed_text_with_missing_markers(tmp_path: Path):
    path = tmp_path / "vitals.csv"
    path.write_text("Subject, Value ,Unit\n001, 7.0 ,NA\n002,,kg\n")
    frame = read_source(path, Source(name="v", file="vitals.csv", missing=["", "NA"]), "raw/v.csv")
    assert list(frame.columns) == ["Subject", " Value ", "Unit", FILE, ROW, COLUMN]
    assert frame[" Value "].tolist()[0] == "7.0"
    assert frame["Subject"].tolist() == ["001", "002"]  # leading zeros kept: all text
    assert frame["Unit"].isna().tolist() == [True, False]
    assert frame[" Value "].isna().tolist() == [False, True]
    assert frame[ROW].tolist() == [2, 3] and frame[FILE].tolist() == ["raw/v.csv"] * 2


def test_xlsx_sheet(tmp_path: Path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Labs"
    sheet.append(["Subject", "HGB"])
    sheet.append(["001", 13.1])
    sheet.append(["002", None])
    book.save(tmp_path / "labs.xlsx")
    source = Source(name="labs", file="labs.xlsx", sheet="Labs")
    frame = read_source(tmp_path / "labs.xlsx", source, "raw/labs.xlsx")
    assert frame["HGB"].tolist()[0] == "13.1"
    assert frame["HGB"].isna().tolist() == [False, True]
    assert frame[ROW].tolist() == [2, 3]


def test_wrong_encoding_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "ae.csv"
    path.write_bytes("Subject,Term\n001,Céphalée\n".encode("latin-1"))
    with pytest.raises(UserError) as err:
        read_source(path, Source(name="ae", file="ae.csv"), "raw/ae.csv")
    assert err.value.line() == (
        "raw/ae.csv, row 2: byte 0xE9 is not valid utf-8; save the file as UTF-8 or set "
        "'encoding' for this source in study.yaml"
    )
    frame = read_source(path, Source(name="ae", file="ae.csv", encoding="latin-1"), "raw/ae.csv")
    assert frame["Term"].tolist() == ["Céphalée"]


def test_duplicate_and_empty_header_cells(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("A,B,A\n1,2,3\n")
    with pytest.raises(UserError) as caught:
        read_source(path, Source(name="x", file="x.csv"), "raw/x.csv")
    assert caught.value.line() == (
        "raw/x.csv, row 1: column 'A' appears twice in the header (cells 1 and 3); give every "
        "column its own name"
    )
    path.write_text("A,,C\n1,2,3\n")
    with pytest.raises(UserError) as caught:
        read_source(path, Source(name="x", file="x.csv"), "raw/x.csv")
    assert caught.value.line() == (
        "raw/x.csv, row 1: header cell 2 is empty; name every column that holds data"
    )
    path.write_text("A,A.1\n1,2\n")  # pandas would have taken A.1 for a second A
    assert list(read_source(path, Source(name="x", file="x.csv"), "x.csv").columns[:2]) == [
        "A",
        "A.1",
    ]


def test_empty_file(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("")
    with pytest.raises(UserError, match="file is empty"):
        read_source(path, Source(name="x", file="x.csv"), "raw/x.csv")


def test_blank_lines_do_not_shift_row_numbers(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_text("A,B\n1,2\n\n3,4\n")
    frame = read_source(path, Source(name="x", file="x.csv"), "x.csv")
    assert frame["A"].tolist() == ["1", "3"]
    assert frame[ROW].tolist() == [2, 4]


def test_broken_workbook(tmp_path: Path):
    book = tmp_path / "x.xlsx"
    book.write_text("not a zip")
    with pytest.raises(UserError) as caught:
        read_source(book, Source(name="x", file="x.xlsx"), "x.xlsx")
    assert caught.value.line() == "x.xlsx: not an .xlsx workbook; export the form as .xlsx or CSV"


def test_xlsx_date_cells_become_iso_text(tmp_path: Path):
    from datetime import datetime

    book = openpyxl.Workbook()
    book.active.append(["Subject", "Visit date", "Taken at"])
    book.active.append(["001", datetime(2021, 6, 12), datetime(2021, 6, 12, 8, 30)])
    book.save(tmp_path / "v.xlsx")
    frame = read_source(tmp_path / "v.xlsx", Source(name="v", file="v.xlsx"), "v.xlsx")
    assert frame[["Visit date", "Taken at"]].values.tolist() == [
        ["2021-06-12", "2021-06-12T08:30:00"]
    ]
