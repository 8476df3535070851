"""CDISC Dataset-JSON 1.1 read into a Table, from one JSON document or NDJSON (the metadata on
the first line, one row per line after it).

Everything a file says is checked before it is trusted: the top level, the columns, each
row's shape and each value against its column's dataType. orjson parses (it refuses invalid
UTF-8, numbers beyond a double and nesting past 1024 levels); the checks run per column on
whole arrays, and only a file that fails one is looked at row by row to name the place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from trialbridge.errors import KEEP_PER_KIND, UserError, report_rows
from trialbridge.sdtm.dataset import Column, Table, char_length
from trialbridge.sdtm.printable import printable

TEXT_TYPES = frozenset({"string", "date", "datetime", "time", "URI"})  # 1.1 dates are ISO text
DATA_TYPES = (
    *("string", "integer", "float", "double", "decimal", "boolean"),
    *("date", "datetime", "time", "URI"),
)
_BOM = b"\xef\xbb\xbf"
MAX_COLUMNS = 9_999  # as many as XPT can describe; SDTM datasets have a few dozen
REWRITE = "write it as Dataset-JSON 1.1"


@dataclass(frozen=True)
class _Rows:
    """The rows as parsed and the line each came from in an NDJSON file (None for a JSON
    document, whose row N is the Nth of `rows`)."""

    values: list[Any]
    lines: Sequence[int] | None = None

    def error(
        self, path: Path, index: int, what: str, fix: str, column: str | None = None
    ) -> UserError:
        """A UserError at the row of `index` (0-based): `file, row N` or `file, line N`."""
        number = index + 1 if self.lines is None else self.lines[index]
        unit = "row" if self.lines is None else "line"
        where = f"{path}, {unit} {number}" + (f", column {column}" if column else "")
        return UserError(what, where, fix, file=str(path), row=number, column=column)


def read(path: Path) -> Table:
    """A Dataset-JSON 1.1 file (.json or .ndjson) as a table: text as str with NA for null,
    numbers as float64. A column name the file repeats keeps its first column; the others are
    listed in `repeated`, not read. Values not of their column's dataType are reported at
    their row (all of them when the run collects problems) and read as missing."""
    head, rows = _ndjson(path) if path.suffix.lower() == ".ndjson" else _document(path)
    name = _text_field(head, "name", path, required=True)
    label = _text_field(head, "label", path)
    columns = _columns(head, path)
    _check_shapes(rows, len(columns), path)
    _check_records(head, rows, path)
    raw = pd.DataFrame(rows.values, columns=range(len(columns)))
    seen: dict[str, int] = {}
    for number, column in enumerate(columns):
        seen.setdefault(column.name, number)
    kept = [(number, columns[number]) for number in seen.values()]
    frame = pd.DataFrame(
        {column.name: _values(raw[number], column, rows, path) for number, column in kept},
        index=pd.RangeIndex(len(raw)),
    )
    described = [_measured(column, frame[column.name]) for _, column in kept]
    repeated = tuple(c for n, c in enumerate(columns) if seen[c.name] != n)
    return Table(name=name, label=label, frame=frame, columns=described, repeated=repeated)


def _document(path: Path) -> tuple[dict[str, Any], _Rows]:
    document = _parse(path.read_bytes(), path)
    head = _object(document, path)
    if "rows" not in head:
        raise _error(path, "a Dataset-JSON file without 'rows'", REWRITE + " (rows: [] if empty)")
    if not isinstance(head["rows"], list):
        raise _error(path, f"'rows' is {_kind(head['rows'])}, not an array", REWRITE)
    return head, _Rows(head["rows"], None)


def _ndjson(path: Path) -> tuple[dict[str, Any], _Rows]:
    lines = path.read_bytes().split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()  # the newline ending the last line
    head = _object(_parse(lines[0], path, 1) if lines else _parse(b"", path), path)
    try:  # the common case, parsed without a Python step per line
        values = list(map(orjson.loads, lines[1:]))
        return head, _Rows(values, range(2, len(values) + 2))
    except orjson.JSONDecodeError:
        pass
    values, numbers = [], []
    for number, line in enumerate(lines[1:], 2):
        if line.strip():  # blank lines carry nothing
            values.append(_parse(line, path, number))
            numbers.append(number)
    return head, _Rows(values, numbers)


def _parse(data: bytes, path: Path, line: int | None = None) -> Any:
    """One JSON text; `line` is its line in an NDJSON file."""
    body = memoryview(data)[len(_BOM) :] if data.startswith(_BOM) else data
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _invalid(bytes(body), exc, path, line) from None


def _invalid(data: bytes, exc: orjson.JSONDecodeError, path: Path, line: int | None) -> UserError:
    """The parser's complaint at its line and column (in the file, for NDJSON too)."""
    first = line or 1
    if not data.strip():
        what = "the file is empty" if line is None else f"line {first} is empty"
        return UserError(what, path, REWRITE, file=str(path), row=line)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        number = first + data.count(b"\n", 0, bad.start)
        column = bad.start - data.rfind(b"\n", 0, bad.start)
        return UserError(
            f"not valid UTF-8: byte {data[bad.start]:#04x}",
            f"{path}:{number}:{column}",
            "save the file as UTF-8",
            file=str(path),
            row=number,
        )
    what = exc.msg
    if "depth limit" in what:
        what = "nested more than 1024 levels deep (Dataset-JSON needs 3)"
    elif "infinity" in what:
        what = "a number beyond the range of a double"
    number = first + exc.lineno - 1
    return UserError(
        f"not valid JSON: {what}",
        f"{path}:{number}:{exc.colno}",
        REWRITE,
        file=str(path),
        row=number,
    )


def _object(document: Any, path: Path) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _error(
            path,
            f"not a Dataset-JSON file: the top level is {_kind(document)}, not an object",
            "give a Dataset-JSON 1.1 dataset, or move the file out of the folder",
        )
    if "columns" not in document:
        raise _error(
            path,
            "not a Dataset-JSON file: it has no 'columns'",
            "give a Dataset-JSON 1.1 dataset, or move the file out of the folder",
        )
    return document


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    kinds = {dict: "an object", list: "an array", str: "text", type(None): "null"}
    return kinds.get(type(value), "a number")


def _error(path: Path, what: str, fix: str) -> UserError:
    return UserError(what, path, fix, file=str(path))


def _text_field(head: dict[str, Any], key: str, path: Path, required: bool = False) -> str:
    value = head.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        shown = "missing" if value is None else _kind(value)
        raise _error(path, f"the dataset's '{key}' is {shown}, not text", REWRITE)
    return value


def _columns(head: dict[str, Any], path: Path) -> list[Column]:
    described = head["columns"]
    if not isinstance(described, list) or not described:
        shown = "empty" if isinstance(described, list) else _kind(described)
        raise _error(path, f"'columns' is {shown}, not an array of columns", REWRITE)
    if len(described) > MAX_COLUMNS:
        raise _error(
            path,
            f"{len(described):,} columns, more than the {MAX_COLUMNS:,} a dataset may have",
            "split the dataset",
        )
    return [_column(c, number, path) for number, c in enumerate(described, 1)]


def _column(described: Any, number: int, path: Path) -> Column:
    place = f"column {number}"
    if not isinstance(described, dict):
        raise _error(path, f"{place} is {_kind(described)}, not an object", REWRITE)
    name = described.get("name")
    if not isinstance(name, str) or not name.strip():
        shown = "missing" if name is None else "empty" if name == "" else _kind(name)
        raise _error(path, f"{place} has a name that is {shown}", "name every column")
    place = f"column {number} ({printable(name)})"
    data_type = described.get("dataType")
    if data_type not in DATA_TYPES:
        shown = printable(data_type) if isinstance(data_type, str) else _kind(data_type)
        raise _error(
            path,
            f"{place} has dataType '{shown}'",
            f"use one of Dataset-JSON 1.1's: {', '.join(DATA_TYPES)}",
        )
    label = described.get("label", "")
    length, key = described.get("length"), described.get("keySequence")
    if not isinstance(label, str):
        raise _error(path, f"{place} has a label that is {_kind(label)}, not text", REWRITE)
    for field, value in (("length", length), ("keySequence", key)):
        if value is not None and (not _whole(value) or value < 1):
            shown = _shown(value)
            raise _error(path, f"{place} has {field} {shown}, not a positive integer", REWRITE)
    return Column(
        name=name,
        label=label,
        type="Char" if data_type in TEXT_TYPES else "Num",
        length=0 if length is None else int(length),  # 0: measured from the values
        data_type=data_type,
        key_sequence=None if key is None else int(key),
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_shapes(rows: _Rows, width: int, path: Path) -> None:
    """Every row an array of one value per column: checked over all rows at once."""
    values = rows.values
    if set(map(type, values)) - {list}:
        index = next(i for i, row in enumerate(values) if type(row) is not list)
        what = f"the row is {_kind(values[index])}, not an array of values"
        raise rows.error(path, index, what, REWRITE)
    if set(map(len, values)) - {width}:
        index = next(i for i, row in enumerate(values) if len(row) != width)
        what = f"the row has {len(values[index])} values for {width} columns"
        raise rows.error(path, index, what, "give every row one value per column (null if none)")


def _check_records(head: dict[str, Any], rows: _Rows, path: Path) -> None:
    records = head.get("records")
    if records is None:
        return
    if not _whole(records) or records != len(rows.values):
        raise _error(
            path,
            f"'records' says {_shown(records)} but the file holds {len(rows.values)} rows"
            " (cut short?)",
            "copy or export the file again",
        )


def _values(values: pd.Series, column: Column, rows: _Rows, path: Path) -> pd.Series:
    """The column's values as text or float64; any value not of the column's dataType is
    reported at its row and read as missing."""
    present = values.notna()
    if column.data_type == "decimal":  # text, as 1.1 writes decimals (numbers accepted)
        numbers = pd.to_numeric(values.astype("str").where(present), errors="coerce")
        bad = present & (numbers.isna() | np.isinf(numbers))
        if bad.any():
            _report(values, bad, column, "a decimal number", rows, path)
        return numbers.where(~bad).astype("float64")
    if column.type == "Char":
        bad = _misfits(values, present, _is_text, isinstance(values.dtype, pd.StringDtype))
        expected = "text"
    elif column.data_type == "boolean":
        bad = _misfits(values, present, _is_bool, values.dtype.kind == "b")
        expected = "true or false"
    elif column.data_type == "integer" and values.dtype.kind == "f":
        bad = present & (values % 1 != 0)  # 38.0 is whole; 1.5 is not
        expected = "a whole number"
    elif column.data_type == "integer":
        bad = _misfits(values, present, _is_whole, values.dtype.kind in "iu")
        expected = "a whole number"
    else:
        bad = _misfits(values, present, _is_number, values.dtype.kind in "iuf")
        expected = "a number"
    if bad.any():
        _report(values, bad, column, expected, rows, path)
        values = values.where(~bad)
    if column.type == "Char":
        return values.astype("str").where(values.notna())
    return values.astype("float64")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _misfits(
    values: pd.Series, present: pd.Series, fits: Callable[[Any], bool], typed: bool
) -> pd.Series:
    """Present values that do not fit. A column whose inferred dtype already fits (pandas
    typed it when the frame was built) is not looked at value by value: only a column of
    mixed values is, which a valid file does not have."""
    if typed or not present.any():
        return pd.Series(False, index=values.index)
    return present & ~values.map(fits).astype(bool)


def _report(
    values: pd.Series, bad: pd.Series, column: Column, expected: str, rows: _Rows, path: Path
) -> None:
    """Every misfit of the column, as problems at their rows (the first raised at once when
    the run does not collect problems)."""
    at = np.flatnonzero(bad.to_numpy())
    what = f"is not {expected} (the column's dataType is {column.data_type})"
    fix = "correct the value, or the column's dataType"
    errors = [
        rows.error(path, int(i), f"{_shown(values.iat[i])} {what}", fix, column.name)
        for i in at[:KEEP_PER_KIND]
    ]
    report_rows(errors, len(at), f"not of the column's dataType {column.data_type}")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{printable(value)}'"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return printable(str(value))
    return _kind(value)


def _measured(column: Column, values: pd.Series) -> Column:
    """The column with a length where the file gave none: the longest text, 8 for numbers."""
    if column.length:
        return column
    length = char_length(values) if column.type == "Char" else 8
    return Column(
        column.name, column.label, column.type, length, column.data_type, column.key_sequence
    )
