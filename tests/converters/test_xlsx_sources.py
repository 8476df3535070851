"""XLSX sources at the edges: the archive is checked before openpyxl reads it (zip bombs,
DOCTYPEs, encrypted and old .xls files), and what cell values hide is named at its cell
(error cells, formulas never computed, merged cells, values beyond the header)."""

import warnings
from pathlib import Path

import openpyxl
import pytest

from tests.corpus.makers import xlsx
from trialbridge.converters.sources import ROW, read_source
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.study import Source

SHOWN = "raw/labs.xlsx"
HEADER = ["Subject", "HGB", "Unit"]


def _path(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "labs.xlsx"
    path.write_bytes(data)
    return path


def _read(tmp_path: Path, data: bytes, **options):
    return read_source(
        _path(tmp_path, data), Source(name="labs", file="labs.xlsx", **options), SHOWN
    )


def _error(tmp_path: Path, data: bytes, **options) -> str:
    with pytest.raises(UserError) as caught:
        _read(tmp_path, data, **options)
    return caught.value.line()


def _book(rows: list[list[str | None]], **options) -> bytes:
    return xlsx.zipped(xlsx.workbook(rows, **options))


def test_cells_as_text_blank_rows_counted(tmp_path: Path):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["001", 13.1, "g/dL"])
    book.active.append([])
    book.active.append(["003", 12, None])
    book.save(tmp_path / "labs.xlsx")
    frame = read_source(tmp_path / "labs.xlsx", Source(name="l", file="labs.xlsx"), SHOWN)
    assert frame[HEADER].astype(object).where(frame[HEADER].notna(), None).values.tolist() == [
        ["001", "13.1", "g/dL"],
        ["003", "12", None],
    ]
    assert frame[ROW].tolist() == [2, 4]
    assert frame.attrs == {"rows_read": 3, "rows_skipped": {"blank": 1}}


def test_every_error_cell_is_named(tmp_path: Path):
    rows = [HEADER, ["001", "#ERR:#DIV/0!", "g/dL"], ["002", "13", "g/dL"], ["003", "#ERR:#N/A"]]
    with pytest.raises(UserErrors), collecting() as problems:
        _read(tmp_path, _book(rows))
    assert [e.line() for e in problems.kept] == [
        f"{SHOWN}, row {row}, column HGB: the cell holds the spreadsheet error {code}; correct "
        "the formula or the value in the workbook and export it again"
        for row, code in ((2, "#DIV/0!"), (4, "#N/A"))
    ]


def test_a_formula_never_computed(tmp_path: Path):
    rows = [HEADER, ["001", "=B3*2", "g/dL"], ["002", "=6.5*2=13", "g/dL"]]
    assert _error(tmp_path, _book(rows)) == (
        f"{SHOWN}, row 2, column HGB: the cell holds a formula that was never computed, so it "
        "has no value to read; open and save the workbook in a spreadsheet program so "
        "formulas are computed, or paste the values"
    )
    rows[1][1] = "=6.6*2=13.2"
    assert _read(tmp_path, _book(rows))["HGB"].tolist() == ["13.2", "13"]


def test_merged_cells(tmp_path: Path):
    rows = [["Subject", "Result", None], ["001", "13.1", "g/dL"]]
    assert _error(tmp_path, _book(rows, merges=("B1:C1",))) == (
        f"{SHOWN}, sheet Sheet1: cells B1:C1 are merged: a merged cell's value sits in its "
        "first cell only; unmerge the cells and fill each one"
    )


def test_a_value_beyond_the_header(tmp_path: Path):
    rows = [HEADER, ["001", "13.1", "g/dL", None, "see notes"]]
    assert _error(tmp_path, _book(rows)) == (
        f"{SHOWN}, row 2, column E: the cell has a value but its column has no name in the "
        "header (row 1); name the column in row 1, or clear the cell"
    )


def test_a_control_character_in_a_shared_string(tmp_path: Path):
    rows = [HEADER, ["001", "13.1", "g/\x85dL"]]  # XML holds a C1 control as it is
    assert _error(tmp_path, _book(rows)) == (
        f"{SHOWN}, row 2, column Unit: the value holds the control character U+0085; remove "
        "it from the source value: SDTM and FHIR values are printable text"
    )


def test_empty_sheet_no_header_and_missing_sheet(tmp_path: Path):
    assert _error(tmp_path, _book([])) == (
        f"{SHOWN}: worksheet 'Sheet1' is empty; put the column names in row 1, data below"
    )
    assert _error(tmp_path, _book([[None], ["001", "13"]])) == (
        f"{SHOWN}: worksheet 'Sheet1' has no header row; put the column names in row 1, data below"
    )
    assert _error(tmp_path, _book([HEADER], sheets=("Labs",)), sheet="Vitals") == (
        f"{SHOWN}: worksheet 'Vitals' not found; the workbook has 'Sheet1', 'Labs'; set "
        "'sheet' for this source in study.yaml to one of them"
    )


def test_zip_bombs_are_refused_from_the_directory(tmp_path: Path):
    folder = tmp_path / "study"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "labs.csv").write_text("Subject,HGB\n001,13.1\n")
    assert _error(tmp_path, xlsx.bomb(folder, tmp_path, "raw/labs.csv", megabytes=40)) == (
        f"{SHOWN}: part xl/media/padding.bin would expand 1,029 times (from 40,771 to "
        "41,943,040 bytes): a zip bomb, not a sheet; export the form as .xlsx again, or as CSV"
    )
    assert _error(tmp_path, xlsx.declared_huge(folder, tmp_path, "raw/labs.csv")).startswith(
        f"{SHOWN}: the workbook would expand to 4,294,"
    )


def test_a_doctype_in_any_part_is_refused(tmp_path: Path):
    folder = tmp_path / "study"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "labs.csv").write_text("Subject,HGB\n001,13.1\n")
    data = xlsx.from_csv(folder, tmp_path, "raw/labs.csv", doctype_in="xl/sharedStrings.xml")
    assert _error(tmp_path, data) == (
        f"{SHOWN}, part xl/sharedStrings.xml, line 2, column 1: XML external entity 'e' (SYSTEM "
        '"file:///etc/passwd") is not allowed: it would read a file or URL while parsing; a '
        "workbook needs no DTD: export the form as .xlsx again, or as CSV"
    )


def test_encrypted_and_old_workbooks(tmp_path: Path):
    assert _error(tmp_path, xlsx.ole(tmp_path, tmp_path)) == (
        f"{SHOWN}: the workbook is encrypted (password-protected); save it without a password "
        "and export the form again"
    )
    assert _error(tmp_path, xlsx.ole(tmp_path, tmp_path, encrypted=False)) == (
        f"{SHOWN}: the file is an old Excel .xls workbook (or another OLE2 file), not .xlsx; "
        "save it as .xlsx or CSV"
    )


def test_a_damaged_part(tmp_path: Path):
    parts = xlsx.workbook([HEADER, ["001", "13.1", "g/dL"]])
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-20]
    assert _error(tmp_path, xlsx.zipped(parts)) == (
        f"{SHOWN}: cannot read the workbook: unclosed token: line 2, column 290; export the "
        "form as .xlsx again, or as CSV"
    )


def test_what_openpyxl_passes_over_is_never_printed(tmp_path: Path):
    """Found by `make fuzz` once warnings counted: a sheet entry naming no part made openpyxl
    print a UserWarning under the command's line (and drop the sheet, which is the error)."""
    parts = xlsx.workbook([HEADER, ["001", "13.1", "g/dL"]])
    relationships = b"officeDocument/2006/relationships"
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(relationships, b"elsewhere")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", append=True)  # what is not filtered out is shown
        line = _error(tmp_path, xlsx.zipped(parts))
    assert line == (
        f"{SHOWN}: the workbook has no worksheet; export the form as .xlsx again, or as CSV"
    )
    assert [str(w.message) for w in caught] == []


def test_rows_out_of_order_or_repeated(tmp_path: Path):
    """openpyxl passes over a row numbered below one it has read: the row was lost and
    counted as blank."""
    parts = xlsx.workbook([HEADER, ["001", "13.1", "g/dL"], ["002", "12.0", "g/dL"]])
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    second, third = sheet.index('<row r="2"'), sheet.index('<row r="3"')
    end = sheet.index("</sheetData>")
    swapped = sheet[:second] + sheet[third:end] + sheet[second:third] + sheet[end:]
    parts["xl/worksheets/sheet1.xml"] = swapped.encode()
    assert _error(tmp_path, xlsx.zipped(parts)) == (
        f"{SHOWN}, sheet Sheet1: row 2 comes after row 3 in the sheet's XML (rows out of order "
        "or repeated: a damaged sheet, whose row would be lost); export the form as .xlsx "
        "again, or as CSV"
    )
    repeated = sheet[:third] + sheet[second:third] + sheet[third:]
    parts["xl/worksheets/sheet1.xml"] = repeated.encode()
    assert "row 2 comes after row 2 in the sheet's XML" in _error(tmp_path, xlsx.zipped(parts))


def test_damaged_zip_data_is_one_line(tmp_path: Path):
    folder = tmp_path / "study"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "labs.csv").write_text("Subject,HGB\n" + "001,13.1\n" * 200)
    data = xlsx.corrupted(folder, tmp_path, "raw/labs.csv")
    assert _error(tmp_path, data).startswith(
        f"{SHOWN}: cannot read the workbook: Error -3 while decompressing data"
    )
