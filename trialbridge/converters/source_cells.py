"""Checks on the text every reader hands over, and the reporting of a problem at many rows.

A control character in a value passes mapping and breaks the outputs much later (an XLSX
report, an XPT read by SAS): every reader refuses it where it was read, naming the cell. A
problem found at many rows goes to `report_rows`: the first KEEP_PER_KIND rows as errors, the
rest counted, so one run lists them all."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.converters.lineage import ROW, ROWS_READ, ROWS_SKIPPED
from trialbridge.errors import KEEP_PER_KIND, UserError, report_rows, row_error

# C0 controls but tab and line breaks, DEL and the C1 controls: not text in any SDTM or FHIR
# value. A line break is text (a REDCap notes field, a CRF comment): the validator's ASCII
# rule reports it where it reaches a dataset.
CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
MAX_VALUE_BYTES = 1 << 20
FIX_CONTROL = "remove it from the source value: SDTM and FHIR values are printable text"
FIX_SIZE = "no CRF value is this long: check the export (an unclosed quote, a binary file?)"

Values = pa.Array | pa.ChunkedArray
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # the text dtype of every source table


def report_at_rows(
    shown: str,
    rows: np.ndarray | Sequence[int],
    what: str | Sequence[str],
    fix: str,
    *,
    kind: str,
    column: str | None = None,
) -> None:
    """One problem at each of `rows` (all of them, in order): errors for the first
    KEEP_PER_KIND, the rest counted. `what` is one text for all, or one per kept row."""
    count = len(rows)
    if not count:
        return
    kept = [int(row) for row in rows[:KEEP_PER_KIND]]
    texts = [what] * len(kept) if isinstance(what, str) else list(what)[: len(kept)]
    assert len(texts) == len(kept), "one text per kept row"
    pairs = zip(texts, kept, strict=True)
    errors = [row_error(text, shown, row, column, fix) for text, row in pairs]
    report_rows(errors, count, kind)


def control_characters(values: Values) -> np.ndarray:
    """Positions of the values holding a control character other than tab. Printable ASCII,
    nearly every value, is cleared by a fast byte test; the rest go through the pattern."""
    suspect = pc.fill_null(pc.invert(pc.ascii_is_printable(values)), False)
    at = pc.indices_nonzero(suspect)
    if len(at) == 0:
        return np.zeros(0, np.int64)
    hit = pc.fill_null(pc.match_substring_regex(values.take(at), CONTROL), False)
    return at.to_numpy()[_flags(hit)].astype(np.int64)


def oversized(values: Values, limit: int = MAX_VALUE_BYTES) -> np.ndarray:
    """Positions of the values longer than `limit` bytes."""
    long = pc.fill_null(pc.greater(pc.binary_length(values), limit), False)
    return pc.indices_nonzero(long).to_numpy().astype(np.int64)


def _flags(mask: Values) -> np.ndarray:
    """A boolean Arrow array (whole or in chunks, no nulls) as numpy."""
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def shown_value(value: object, limit: int = 80) -> str:
    """A value as an error line may quote it: control characters escaped, long values cut
    (with their length), so one line stays one short line."""
    text = "".join(
        f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c
        for c in str(value)[: limit + 1]
    )
    if len(str(value)) > limit:
        return f"{text[:limit]}... ({len(str(value)):,} characters)"
    return text


def control_named(value: str) -> str:
    """The first control character (other than a line break) of a value, as the user can
    look it up."""
    found = next(c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n\r")
    name = _CONTROL_NAMES.get(found)
    return f"the control character U+{ord(found):04X}" + (f" ({name})" if name else "")


_CONTROL_NAMES = {"\x00": "NUL", "\x1b": "ESC", "\x7f": "DEL", "\x0b": "VT", "\x0c": "FF"}


def check_cells(
    values: Values,
    rows: np.ndarray,
    shown: str,
    column: str,
    places: Callable[[np.ndarray], np.ndarray] | None = None,
) -> None:
    """Report every value of one column that holds a control character or is too long;
    `rows` gives each value's row (in an XML export, its line), or `places` the rows of
    the values at the positions it is given."""
    at_rows = places or rows.__getitem__
    _check(values, shown, lambda found: [(column, at_rows(found), found)])


def check_columns(
    values: Values, names: Sequence[str], rows: np.ndarray, shown: str, text_only: bool = True
) -> None:
    """`check_cells` for a table's columns laid end to end in one array (each `len(rows)`
    long): one pass of each check, whatever the number of columns."""
    height = max(len(rows), 1)

    def by_column(found: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
        columns = found // height
        return [
            (names[c], rows[found[columns == c] % height], found[columns == c])
            for c in np.unique(columns)
        ]

    _check(values, shown, by_column, text_only)


Locate = Callable[[np.ndarray], list[tuple[str, np.ndarray, np.ndarray]]]


def _check(values: Values, shown: str, locate: Locate, text_only: bool = True) -> None:
    """The checks, their findings reported per column: `locate` splits positions into
    (column, rows, positions) groups."""
    bad = control_characters(values) if text_only else np.zeros(0, np.int64)
    if len(bad):
        for column, rows, found in locate(bad):
            texts = [
                f"the value holds {control_named(values[int(i)].as_py())}"
                for i in found[:KEEP_PER_KIND]
            ]
            kind = "control character"
            report_at_rows(shown, rows, texts, FIX_CONTROL, kind=kind, column=column)
    long = oversized(values)
    for column, rows, found in locate(long) if len(long) else []:
        lengths = pc.binary_length(values.take(pa.array(found[:KEEP_PER_KIND])))
        texts = [
            f"the value is {n:,} bytes long, more than the limit of {MAX_VALUE_BYTES:,}"
            for n in lengths.to_pylist()
        ]
        report_at_rows(shown, rows, texts, FIX_SIZE, kind="value too long", column=column)


def check_header(names: Sequence[str], shown: str) -> None:
    """Every header cell named, once, in printable text."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise UserError(
                f"header cell {position} is empty",
                f"{shown}, row 1",
                "name every column that holds data",
            )
        if any(unicodedata.category(c) == "Cc" and c != "\t" for c in name):
            held = "a line break" if "\n" in name or "\r" in name else control_named(name)
            raise UserError(
                f"header cell {position} holds {held}",
                f"{shown}, row 1",
                "name the column in printable text",
            )
        if name in seen:
            raise UserError(
                f"column '{name}' appears twice in the header (cells {seen[name]} and {position})",
                f"{shown}, row 1",
                "give every column its own name",
            )
        seen[name] = position


def text_frame(
    names: Sequence[str],
    columns: Sequence[Values | list[str | None]],
    rows: np.ndarray,
    shown: str,
    missing: Sequence[str],
    text_only: bool = True,
) -> tuple[pd.DataFrame, int]:
    """Raw text columns as a source table: every value checked (size; control characters
    too, unless `text_only` is off: a metadata file's labels may hold line breaks), trimmed,
    missing markers as NA; rows left with no value dropped. With ROW from `rows`; also
    returns how many blank rows were dropped."""
    height = len(rows)
    raw = pa.chunked_array(
        [chunk for column in columns for chunk in _chunks(column)], pa.large_string()
    )
    check_columns(raw, names, rows, shown, text_only)
    value = _missing_as_null(pc.utf8_trim_whitespace(raw), missing)
    valid = _flags(pc.is_valid(value)).reshape(len(names), height)
    filled = valid.any(axis=0)
    kept = [value.slice(i * height, height) for i in range(len(names))]
    table = pa.table(kept, names=list(names)).filter(pa.array(filled))
    frame = table.to_pandas(types_mapper=_text_type)
    frame[ROW] = rows[filled]
    return frame, int((~filled).sum())


def _chunks(column: Values | list[str | None]) -> list[pa.Array]:
    """A column's values as large_string chunks (as pandas holds text)."""
    if isinstance(column, list):
        return [pa.array(column, pa.large_string())]
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [c if c.type == pa.large_string() else c.cast(pa.large_string()) for c in chunks]


def _text_type(kind: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    return TEXT if kind in (pa.string(), pa.large_string()) else None


def _missing_as_null(values: Values, missing: Sequence[str]) -> Values:
    if not missing:
        return values
    marked = pc.is_in(values, value_set=pa.array(list(missing), values.type))
    return pc.if_else(marked, pa.scalar(None, values.type), values)


def counted(frame: pd.DataFrame, read: int, skipped: dict[str, int]) -> pd.DataFrame:
    """Note on the table what the reader read and what it left out, by reason, so that a
    reconciliation can prove nothing went missing: rows_read == len(frame) + sum(skipped)."""
    frame.attrs[ROWS_READ] = int(read)
    frame.attrs[ROWS_SKIPPED] = {reason: int(n) for reason, n in skipped.items()}
    return frame


def kept_note(what: str, count: int, values: Sequence[str], first: str) -> str:
    """A lenient source's misfits of one kind as one note: how many values were kept, of
    what and why (`what`), the distinct values (at most ten), and where the first is."""
    distinct = list(dict.fromkeys(values))
    shown = ", ".join(f"'{shown_value(v)}'" for v in distinct[:10])
    more = f", ... ({len(distinct):,} distinct)" if len(distinct) > 10 else ""
    kept = f"{count:,} kept {'value' if count == 1 else 'values'}"
    return f"lenient: {kept} {what}: {shown}{more} (first at {first})"
