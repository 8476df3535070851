"""CSV exports as text tables: every record kept with its row number, every bad row named.

pyarrow parses the records (fast, and it hands over each record whose field count is not the
header's, so a short row is refused like a long one instead of being padded with blanks); the
header is read first with the standard library from a bounded head of the file, so a hostile
header is refused before anything large is built. Row numbers are spreadsheet rows: the
header is row 1, and a blank line is a row, so numbers match what the user opens."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from trialbridge.converters.lineage import BLANK
from trialbridge.converters.source_cells import check_header, counted, report_at_rows, text_frame
from trialbridge.errors import KEEP_PER_KIND, UserError

MAX_COLUMNS = 16_384  # Excel's limit: no form export is wider
MAX_HEADER_BYTES = 4 << 20
MAX_LINE_BYTES = 8 << 20  # a record's line: 16,384 columns of 512 bytes
_SCAN = 1 << 20
_BLOCK = 16 << 20  # pyarrow's parse block: a record must fit in one
_HEAD = 64 << 10
FIX_ENCODING = "save the file as UTF-8 or set 'encoding' for this source in study.yaml"
_SIGNATURES = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an OLE2 compound file (an .xls workbook, or an encrypted .xlsx?)",
}
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF8, "UTF-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "UTF-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16", "utf-16"),
)


@dataclass
class _Invalid:
    """Records pyarrow could not fit to the header: blank ones, and the others by shape."""

    expected: int
    delimiter: str
    numbers: list[int] = field(default_factory=list)
    blank: int = 0
    bad_rows: list[int] = field(default_factory=list)
    bad_fields: list[int] = field(default_factory=list)
    last_text: str = ""

    def __call__(self, row: pacsv.InvalidRow) -> str:
        self.numbers.append(row.number)
        if not row.text.strip(f" \t{self.delimiter}"):
            self.blank += 1  # a line of spaces or bare delimiters holds nothing to lose
        else:
            self.bad_rows.append(row.number)
            self.bad_fields.append(row.actual_columns)
            self.last_text = row.text
        return "skip"


def read_csv_table(
    path: Path,
    shown: str,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    missing: Sequence[str] = ("",),
    fix_empty: str = "export the form with its header row",
    text_only: bool = True,
) -> pd.DataFrame:
    """The file's records as trimmed text (missing markers -> NA) under the header's names,
    with ROW; blank rows dropped and counted (attrs rows_read and rows_skipped). Values
    with control characters are refused unless `text_only` is off (metadata files)."""
    codec = _check_head(path, shown, Codec(encoding))
    if codec.ascii_compatible:
        _check_lines(path, shown)
    names = _header(path, shown, delimiter, codec, fix_empty)
    table, invalid = _parse(path, shown, delimiter, codec, names)
    if invalid.numbers and min(invalid.numbers) == 1:
        raise UserError("cannot parse the header row", f"{shown}, row 1", FIX_ENCODING)
    total = table.num_rows + len(invalid.numbers)
    parsed = np.ones(total, dtype=bool)  # the records pyarrow handed over, by number - 1
    parsed[np.array(invalid.numbers, np.int64) - 1] = False
    rows = np.flatnonzero(parsed)[1:] + 1
    body = table.slice(1)
    _refuse_unclosed_quote(path, shown, body, names, rows, invalid, total, delimiter, codec)
    _report_shapes(invalid, shown)
    frame, blank = text_frame(names, body.columns, rows, shown, missing, text_only)
    skipped = {BLANK: invalid.blank + blank, "bad field count": len(invalid.bad_rows)}
    return counted(frame, total - 1, skipped)


@dataclass(frozen=True)
class Codec:
    """An encoding as the user wrote it (for messages) and as Python names it."""

    given: str
    label: str = ""

    @property
    def shown(self) -> str:
        return self.label or self.given

    @property
    def name(self) -> str:
        try:
            return codecs.lookup(self.given).name
        except LookupError:
            raise UserError(
                f"unknown encoding '{self.given}'",
                "study.yaml",
                "use e.g. utf-8, latin-1, cp1252",
            ) from None

    @property
    def ascii_compatible(self) -> bool:
        try:
            return b'\n,;"'.decode(self.name) == '\n,;"'
        except UnicodeDecodeError:
            return False


def _check_head(path: Path, shown: str, codec: Codec) -> Codec:
    """Refuse what the first bytes already show (another file type, the NUL bytes of UTF-16
    text read as an 8-bit encoding); a byte order mark says the encoding, whatever the
    source's: the codec to read with."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    for signature, kind in _SIGNATURES.items():
        if head.startswith(signature):
            raise UserError(f"the file is {kind}, not CSV text", shown, "export the form as CSV")
    for bom, name, family in _BOMS:
        if head.startswith(bom):
            if codec.name.startswith(family):
                return codec
            return Codec(
                f"{family}-sig" if family == "utf-8" else family, f"{name} (as its mark says)"
            )
    if codec.name in ("utf-16", "utf-32"):
        raise UserError(
            f"the file has no byte order mark, so '{codec.shown}' cannot tell its byte order",
            shown,
            f"set 'encoding: {codec.name}-le' (or -be) for this source in study.yaml",
        )
    if codec.ascii_compatible and _looks_utf16(head):
        raise UserError(
            f"the file is not {codec.shown} text: every other byte is NUL (0x00), as in "
            "UTF-16 without its byte order mark",
            shown,
            FIX_ENCODING + " (utf-16-le or utf-16-be for UTF-16 without the mark)",
        )
    return codec


def _looks_utf16(head: bytes) -> bool:
    """ASCII text in UTF-16 has a NUL in every other byte: in most of its even or odd ones."""
    if len(head) < 4:
        return False
    half = len(head) // 2
    return max(head[0::2].count(0), head[1::2].count(0)) * 2 > half


def _check_lines(path: Path, shown: str) -> None:
    """Refuse a line longer than MAX_LINE_BYTES before parsing: a chunk's first and last
    line breaks are all it takes (a longer line always spans chunks)."""
    run = breaks = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN):
            first, last = _first_break(chunk), max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            if first < 0:
                run += len(chunk)
            else:
                run += first
            if run > MAX_LINE_BYTES:
                raise UserError(
                    f"line {breaks + 1} is longer than {MAX_LINE_BYTES:,} bytes",
                    shown,
                    "no form export has lines this long: check the export (a binary file, "
                    "or an unclosed quote?)",
                )
            if first >= 0:
                run = len(chunk) - last - 1
                breaks += chunk.count(b"\n") or chunk.count(b"\r")


def _first_break(chunk: bytes) -> int:
    found = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
    return min(found) if found else -1


def _header(path: Path, shown: str, delimiter: str, codec: Codec, fix_empty: str) -> list[str]:
    """The header's names, from at most MAX_HEADER_BYTES of the file."""
    with path.open("rb") as handle:
        head = handle.read(MAX_HEADER_BYTES + 1)
    if not head.strip(b"\r\n\t "):
        raise UserError("file is empty", shown, fix_empty)
    whole = len(head) <= MAX_HEADER_BYTES
    try:
        text = codecs.getincrementaldecoder(codec.name)().decode(head[:MAX_HEADER_BYTES], whole)
    except UnicodeError:
        raise encoding_error(path, codec, shown) from None
    buffer = io.StringIO(text, newline="")
    try:
        names = next(csv.reader(buffer, delimiter=delimiter, quotechar='"', doublequote=True))
    except (csv.Error, StopIteration) as exc:
        raise UserError(
            f"cannot read the header row: {exc}", f"{shown}, row 1", fix_empty
        ) from None
    if not whole and buffer.tell() >= len(text):
        raise UserError(
            f"the header row is longer than {MAX_HEADER_BYTES:,} bytes",
            f"{shown}, row 1",
            "check that this is a CSV form export (an unclosed quote in the header?)",
        )
    if len(names) > MAX_COLUMNS:
        raise UserError(
            f"the header has {len(names):,} columns, more than the limit of {MAX_COLUMNS:,}",
            f"{shown}, row 1",
            "split the export by form, or check 'delimiter' for this source",
        )
    if names:
        names[0] = names[0].removeprefix("\ufeff")
    if names in ([], [""]):  # a blank first line: pyarrow would take the second line's width
        raise UserError(
            "the header row is blank",
            f"{shown}, row 1",
            "put the column names in the first row, with no blank line above them",
        )
    check_header(names, shown)
    return names


def _parse(
    path: Path, shown: str, delimiter: str, codec: Codec, names: list[str]
) -> tuple[pa.Table, _Invalid]:
    """The records, the header as the first; and those pyarrow could not fit to it."""
    width = len(names)
    invalid = _Invalid(width, delimiter)
    utf8 = codec.name in ("utf-8", "utf-8-sig")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=False,  # the record numbers of invalid rows need one thread
                block_size=_BLOCK,
                autogenerate_column_names=True,
                encoding="utf8" if utf8 else codec.name,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.large_string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except UnicodeError:
        raise encoding_error(path, codec, shown) from None
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):  # one header line, without its line end
            header = {f"f{i}": pa.array([name], pa.large_string()) for i, name in enumerate(names)}
            return pa.table(header), invalid
        if "UTF8" in str(exc):
            raise encoding_error(path, codec, shown) from None
        if "straddl" in str(exc):
            raise UserError(
                f"a record is longer than {_BLOCK >> 20} MiB",
                shown,
                "check the export: an unclosed quote, or not a CSV file?",
            ) from None
        raise UserError(f"cannot parse CSV: {exc}", shown, "export the form again") from None
    return table, invalid


def _report_shapes(invalid: _Invalid, shown: str) -> None:
    """Every row with too few or too many fields, each kind at once."""
    rows = np.array(invalid.bad_rows, np.int64)
    fields = np.array(invalid.bad_fields, np.int64)
    shown_delimiter = "tab" if invalid.delimiter == "\t" else f"'{invalid.delimiter}'"
    for short, kind, fix in (
        (True, "too few fields", "add the missing fields (an empty value keeps its delimiter)"),
        (
            False,
            "too many fields",
            f"remove the extra fields, or quote the values that hold the delimiter "
            f"{shown_delimiter}",
        ),
    ):
        picked = fields < invalid.expected if short else fields > invalid.expected
        texts = [
            f"the row has {n} field{'s' if n != 1 else ''}, the header has {invalid.expected}"
            for n in fields[picked][:KEEP_PER_KIND]
        ]
        report_at_rows(shown, rows[picked], texts, fix, kind=kind)


def _refuse_unclosed_quote(
    path: Path,
    shown: str,
    body: pa.Table,
    names: list[str],
    rows: np.ndarray,
    invalid: _Invalid,
    total: int,
    delimiter: str,
    codec: Codec,
) -> None:
    """A quote never closed swallows the rest of the file into the last record: name it,
    rather than the line breaks it swallowed."""
    last_good = bool(body.num_rows) and rows[-1] == total
    if last_good:
        texts = [body.column(i)[-1].as_py() for i in range(body.num_columns)]
    elif invalid.bad_rows and invalid.bad_rows[-1] == total:
        texts = [invalid.last_text]
    else:
        return
    broken = [_has_break(t) for t in texts]
    if not any(broken) or not _ends_in_quote(path, delimiter, codec):
        return
    column = names[broken.index(True)] if last_good else None
    place = f"{shown}, row {total}" + (f", column {column}" if column else "")
    raise UserError(
        "a quoted value opened here is never closed: the rest of the file was read into it",
        place,
        'close the quote (a quote inside a quoted value is written twice: "")',
    )


def _has_break(text: str | None) -> bool:
    return text is not None and ("\n" in text or "\r" in text)


def _ends_in_quote(path: Path, delimiter: str, codec: Codec) -> bool:
    """Whether the file ends inside a quoted value (the strict standard parser says so)."""
    with path.open(encoding=codec.name, newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        try:
            for _ in reader:
                pass
        except csv.Error as exc:
            return "unexpected end of data" in str(exc)
    return False


def encoding_error(path: Path, codec: Codec, shown: str) -> UserError:
    """Where the first undecodable byte is: the parser's own offset is per block."""
    raw = path.read_bytes()
    try:
        raw.decode(codec.name)
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        return UserError(
            f"byte 0x{raw[exc.start]:02X} is not valid {codec.shown}",
            f"{shown}, row {row}",
            FIX_ENCODING,
        )
    except UnicodeError as exc:
        return UserError(f"cannot read the file as {codec.shown}: {exc}", shown, FIX_ENCODING)
    return UserError(f"cannot read the file as {codec.shown}", shown, FIX_ENCODING)
