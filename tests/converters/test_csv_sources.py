"""CSV sources at the edges: every row whose field count is not the header's is named (none is
padded or dropped unseen), every cell with a control character is named, hostile sizes are
refused fast, encodings are told apart, and every table counts the rows it read and skipped."""

from pathlib import Path

import pandas as pd
import pytest

from trialbridge.converters.csv_text import MAX_COLUMNS
from trialbridge.converters.sources import ROW, read_source
from trialbridge.errors import KEEP_PER_KIND, Problems, UserError, UserErrors, collecting
from trialbridge.study import Source

SHOWN = "raw/labs.csv"
FIX_SHORT = "add the missing fields (an empty value keeps its delimiter)"
FIX_ENCODING = "save the file as UTF-8 or set 'encoding' for this source in study.yaml"


def _read(tmp_path: Path, data: bytes | str, **options) -> pd.DataFrame:
    path = tmp_path / "labs.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return read_source(path, Source(name="labs", file="labs.csv", **options), SHOWN)


def _error(tmp_path: Path, data: bytes | str, **options) -> str:
    with pytest.raises(UserError) as caught:
        _read(tmp_path, data, **options)
    return caught.value.line()


def _gathered(tmp_path: Path, data: bytes | str, **options) -> Problems:
    """The problems one collecting run reports (the run stops at its checkpoint)."""
    with pytest.raises(UserErrors), collecting() as problems:
        _read(tmp_path, data, **options)
    return problems


def _values(frame: pd.DataFrame, *names: str) -> list[list[object]]:
    rows = frame[list(names)].astype(object)
    return rows.where(rows.notna(), None).values.tolist()


# --- row shapes --------------------------------------------------------------------------------


def test_a_short_row_is_an_error_not_padded(tmp_path: Path):
    text = "Subject,HGB,PLT\n001,13.1,245\n002,15.2\n"
    assert (
        _error(tmp_path, text)
        == f"{SHOWN}, row 3: the row has 2 fields, the header has 3; {FIX_SHORT}"
    )


def test_a_long_row_is_an_error(tmp_path: Path):
    text = "Subject,HGB\n001,13,1\n"
    assert _error(tmp_path, text) == (
        f"{SHOWN}, row 2: the row has 3 fields, the header has 2; remove the extra fields, or "
        "quote the values that hold the delimiter ','"
    )
    text = "Subject\tHGB\n001\t13\t1\n"
    assert _error(tmp_path, text, delimiter="\t").endswith("hold the delimiter tab")


def test_every_bad_row_is_reported_in_one_run(tmp_path: Path):
    rows = ["Subject,HGB,PLT"] + [f"{i:03},13.1" for i in range(300)] + ["301,1,2,3", "302,1,2"]
    problems = _gathered(tmp_path, "\n".join(rows) + "\n")
    assert problems.total == 301
    assert len(problems.kept) == KEEP_PER_KIND + 1  # 200 short rows kept, 100 counted; 1 long
    assert problems.kept[0].line() == (
        f"{SHOWN}, row 2: the row has 2 fields, the header has 3; {FIX_SHORT}"
    )
    assert problems.kept[KEEP_PER_KIND - 1].row == 201
    assert problems.kept[-1].line().startswith(f"{SHOWN}, row 302: the row has 4 fields")
    assert problems.per_kind[(SHOWN, "", "too few fields")] == 300


def test_rows_keep_their_spreadsheet_numbers_around_refused_and_blank_rows(tmp_path: Path):
    text = "A,B\n1,2\n\n   \n,\n3\n4,5\n"
    with pytest.raises(UserErrors), collecting():
        frame = _read(tmp_path, text)
        assert _values(frame, "A", "B", ROW) == [["1", "2", 2], ["4", "5", 7]]
        # rows 3 (empty), 4 (spaces) and 5 (empty fields) are blank; row 6 is refused
        assert frame.attrs == {
            "rows_read": 6,
            "rows_skipped": {"blank": 3, "bad field count": 1},
        }


def test_a_header_only_file_has_no_rows(tmp_path: Path):
    frame = _read(tmp_path, "Subject,HGB\n")
    assert frame.empty and list(frame.columns[:2]) == ["Subject", "HGB"]
    assert frame.attrs == {"rows_read": 0, "rows_skipped": {"blank": 0, "bad field count": 0}}


def test_carriage_return_line_ends(tmp_path: Path):
    frame = _read(tmp_path, "A,B\r1,2\r\r3,4\r")
    assert _values(frame, "A", "B", ROW) == [["1", "2", 2], ["3", "4", 4]]
    assert frame.attrs["rows_skipped"]["blank"] == 1


def test_a_line_break_in_the_header(tmp_path: Path):
    assert _error(tmp_path, 'A,"B\nunit"\n1,2\n') == (
        f"{SHOWN}, row 1: header cell 2 holds a line break; name the column in printable text"
    )


# --- the header --------------------------------------------------------------------------------


def test_duplicate_header_names(tmp_path: Path):
    assert _error(tmp_path, "Subject,HGB,Subject\n1,2,3\n") == (
        f"{SHOWN}, row 1: column 'Subject' appears twice in the header (cells 1 and 3); give "
        "every column its own name"
    )


def test_thousands_of_columns_are_read_and_too_many_refused_fast(tmp_path: Path):
    header = ",".join(f"c{i}" for i in range(5000))
    frame = _read(tmp_path, header + "\n" + ",".join("1" * 5000) + "\n")
    assert frame.shape == (1, 5003) and frame["c4999"].tolist() == ["1"]
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    assert _error(tmp_path, header + "\n") == (
        f"{SHOWN}, row 1: the header has 16,385 columns, more than the limit of 16,384; split "
        "the export by form, or check 'delimiter' for this source"
    )


def test_a_control_character_in_the_header(tmp_path: Path):
    assert _error(tmp_path, "Subject,H\x07GB\n1,2\n") == (
        f"{SHOWN}, row 1: header cell 2 holds the control character U+0007; name the column "
        "in printable text"
    )


# --- values ------------------------------------------------------------------------------------


def test_control_characters_are_refused_at_their_cell(tmp_path: Path):
    problems = _gathered(tmp_path, "Subject,Term\n001,Head\x1bache\n002,Fever\x00\n003,ok\tfine\n")
    assert [e.line() for e in problems.kept] == [
        f"{SHOWN}, row {row}, column Term: the value holds the control character {char}; "
        "remove it from the source value: SDTM and FHIR values are printable text"
        for row, char in ((2, "U+001B (ESC)"), (3, "U+0000 (NUL)"))
    ]  # a tab is text


def test_a_line_break_inside_a_quoted_value_is_kept(tmp_path: Path):
    """A multi-line comment is text; the validator's ASCII rule reports it if it reaches a
    dataset."""
    frame = _read(tmp_path, 'Subject,Term\n001,"Head\nache"\n002,Fever\n')
    assert frame["Term"].tolist() == ["Head\nache", "Fever"]
    assert frame["__row"].tolist() == [2, 3]  # spreadsheet rows: a record is one row


def test_an_unclosed_quote_is_named_where_it_opens(tmp_path: Path):
    assert _error(tmp_path, 'Subject,Term\n001,"Headache\n002,Fever\n003,Cough\n') == (
        f"{SHOWN}, row 2, column Term: a quoted value opened here is never closed: the rest of "
        "the file was read into it; close the quote (a quote inside a quoted value is written "
        'twice: "")'
    )
    # the same when the swallowed rest leaves the record short of fields
    assert _error(tmp_path, 'Subject,Term,Grade\n001,"Headache\n002,Fever,1\n').startswith(
        f"{SHOWN}, row 2: a quoted value opened here is never closed"
    )


def test_quotes_inside_values_are_text(tmp_path: Path):
    frame = _read(tmp_path, 'Subject,Note\n001,5" tall\n002,"said ""hi"""\n')
    assert frame["Note"].tolist() == ['5" tall', 'said "hi"']


def test_an_oversized_value_and_an_oversized_line_are_refused_fast(tmp_path: Path):
    assert _error(tmp_path, "Subject,Note\n001," + "x" * 2_000_000 + "\n") == (
        f"{SHOWN}, row 2, column Note: the value is 2,000,000 bytes long, more than the limit "
        "of 1,048,576; no CRF value is this long: check the export (an unclosed quote, a "
        "binary file?)"
    )
    path = tmp_path / "labs.csv"
    path.write_bytes(b"Subject,Note\n001,2\n003," + b"x" * 200_000_000 + b"\n")
    with pytest.raises(UserError) as caught:
        read_source(path, Source(name="labs", file="labs.csv"), SHOWN)
    assert caught.value.line() == (
        f"{SHOWN}: line 3 is longer than 8,388,608 bytes; no form export has lines this long: "
        "check the export (a binary file, or an unclosed quote?)"
    )


# --- encodings ---------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path):
    frame = _read(tmp_path, b"\xef\xbb\xbfSubject,HGB\n001,13\n")
    assert list(frame.columns[:2]) == ["Subject", "HGB"]
    # the mark says UTF-8 even where the source says otherwise
    frame = _read(tmp_path, "\ufeffSubject,Term\n001,Céphalée\n".encode(), encoding="latin-1")
    assert frame["Term"].tolist() == ["Céphalée"]


def test_utf16_with_its_mark_is_read_and_without_it_named(tmp_path: Path):
    text = "Subject,Term\n001,Céphalée\n"
    assert _read(tmp_path, text.encode("utf-16"))["Term"].tolist() == ["Céphalée"]
    assert _error(tmp_path, text.encode("utf-16-le")) == (
        f"{SHOWN}: the file is not utf-8 text: every other byte is NUL (0x00), as in UTF-16 "
        f"without its byte order mark; {FIX_ENCODING} (utf-16-le or utf-16-be for UTF-16 "
        "without the mark)"
    )
    frame = _read(tmp_path, text.encode("utf-16-le"), encoding="utf-16-le")
    assert frame["Term"].tolist() == ["Céphalée"]


def test_latin1_and_mixed_files_declared_utf8(tmp_path: Path):
    assert _error(tmp_path, "Subject,Term\n001,Céphalée\n".encode("latin-1")) == (
        f"{SHOWN}, row 2: byte 0xE9 is not valid utf-8; {FIX_ENCODING}"
    )
    mixed = "Subject,Term\n001,Céphalée\n".encode() + "002,Fièvre\n".encode("latin-1")
    assert (
        _error(tmp_path, mixed) == f"{SHOWN}, row 3: byte 0xE8 is not valid utf-8; {FIX_ENCODING}"
    )
    frame = _read(tmp_path, "Subject,Term\n001,Céphalée\n".encode("cp1252"), encoding="cp1252")
    assert frame["Term"].tolist() == ["Céphalée"]


def test_a_workbook_given_as_csv(tmp_path: Path):
    assert _error(tmp_path, b"PK\x03\x04\x14\x00rest") == (
        f"{SHOWN}: the file is a zip archive (an .xlsx workbook?), not CSV text; export the "
        "form as CSV"
    )


def test_empty_files(tmp_path: Path):
    for data in ("", "\n\n", "  \r\n"):
        assert _error(tmp_path, data) == (
            f"{SHOWN}: file is empty; export the form with its header row"
        )


def test_the_delimiter_a_source_names(tmp_path: Path):
    frame = _read(tmp_path, "Subject;HGB\n001;13,1\n", delimiter=";")
    assert frame["HGB"].tolist() == ["13,1"]


def test_utf16_without_mark_needs_its_byte_order(tmp_path: Path):
    data = "Subject,Term\n001,Céphalée\n".encode("utf-16-le")
    assert _error(tmp_path, data, encoding="utf-16") == (
        f"{SHOWN}: the file has no byte order mark, so 'utf-16' cannot tell its byte order; "
        "set 'encoding: utf-16-le' (or -be) for this source in study.yaml"
    )


def test_an_undefined_byte_of_an_8_bit_encoding(tmp_path: Path):
    assert _error(tmp_path, b"Subject,Term\n001,\x81\n", encoding="cp1252") == (
        f"{SHOWN}, row 2: byte 0x81 is not valid cp1252; {FIX_ENCODING}"
    )


def test_a_header_without_its_line_end(tmp_path: Path):
    frame = _read(tmp_path, "Subject,HGB")
    assert list(frame.columns[:2]) == ["Subject", "HGB"] and frame.empty
    assert frame.attrs["rows_read"] == 0
