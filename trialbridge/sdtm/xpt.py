"""SAS XPORT v5 writing (after checking the FDA's v5 limits) and reading back, through the
column-wise codec in xport_write.py and xport_read.py."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.dataset import Column, Dataset, Table, numeric_type
from trialbridge.sdtm.printable import printable
from trialbridge.sdtm.write import atomic_file
from trialbridge.sdtm.xport_read import XportVariable, read_xport
from trialbridge.sdtm.xport_write import XportColumn, write_xport

MAX_NAME = 8
MAX_LABEL = 40
MAX_VALUE_BYTES = 200
# The IBM double range is 16**-65 .. 16**63 * (1 - 16**-14) (about 7.24e75), but pyreadstat
# 1.3, the reference writer the tests compare against, writes every magnitude from 2 * 16**62
# (about 9.05e74) upward as infinity (measured); the limit keeps the two writers agreeing.
IBM_MAX = 2 * 16.0**62
IBM_MIN = 16.0**-65
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
SAS_EPOCH = datetime(1960, 1, 1)


# control characters XPT could hold but no reader of a submission expects (tab, LF, CR kept)
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
# anything but printable ASCII, tab and line breaks: non-ASCII or a control character
_UNWRITABLE = r"[^\t\n\r\x20-\x7e]"


def check(dataset: Dataset) -> None:
    """Raise a UserError for the first value or name that XPT v5 cannot hold faithfully."""
    _check(dataset)


def _check(dataset: Dataset) -> None:
    where = f"{dataset.filename_stem}.xpt"
    if not _NAME.match(dataset.name):
        raise UserError(f"dataset name '{dataset.name}' is not 1-8 letters/digits", where)
    _check_text(dataset.label, "dataset label", where)
    for var in dataset.variables:
        if not _NAME.match(var.name):
            raise UserError(
                f"variable name '{var.name}' is not 1-8 upper-case letters/digits", where
            )
        _check_text(var.label, f"label of {var.name}", where)
        column = dataset.frame[var.name]
        if var.type == "Char":
            _check_char(dataset, var.name, column)
        else:
            _check_num(dataset, var.name, column)


def _check_text(text: str, what: str, where: str) -> None:
    if len(text) > MAX_LABEL:
        raise UserError(
            f"{what} is {len(text)} characters: '{text}'",
            where,
            f"XPT v5 allows {MAX_LABEL}; shorten it",
        )
    if not text.isascii():
        raise UserError(f"{what} has non-ASCII characters: '{text}'", where, "use ASCII only")


def _record(dataset: Dataset, mask: pd.Series) -> str:
    """'USUBJID X, AESEQ n (raw/ae.csv, row 4)' for the first row in mask."""
    row = int(np.flatnonzero(mask.to_numpy())[0])
    frame = dataset.frame
    ids = [f"USUBJID {frame.at[row, 'USUBJID']}"] if "USUBJID" in frame else [f"record {row + 1}"]
    seq = next((k for k in frame if k.endswith("SEQ") and len(k) == 5), None)
    if seq and pd.notna(frame.at[row, seq]):
        ids.append(f"{seq} {frame.at[row, seq]:g}")
    file, line = dataset.lineage.iat[row, 0], dataset.lineage.iat[row, 1]
    origin = f" ({file}, row {int(line)})" if pd.notna(file) else ""
    return ", ".join(ids) + origin


def _check_char(dataset: Dataset, name: str, column: pd.Series) -> None:
    # each distinct value looked at once (a million-row LB has twenty text columns of a few
    # thousand values each); the records are searched only when one fails
    distinct = pd.Series(column.dropna().unique(), dtype="str")
    unwritable = distinct.str.contains(_UNWRITABLE, regex=True).astype(bool).any()
    if not unwritable and not (distinct.str.len() > MAX_VALUE_BYTES).any():
        return
    text = column.fillna("")
    if unwritable:
        _refuse_unwritable(dataset, name, text)
    too_long = text.str.len() > MAX_VALUE_BYTES
    if too_long.any():
        length = int(text[too_long].str.len().iloc[0])
        raise UserError(
            f"{name} value is {length} bytes at {_record(dataset, too_long)}",
            f"{dataset.filename_stem}.xpt",
            f"XPT v5 allows {MAX_VALUE_BYTES}; shorten it or split it into SUPP variables",
        )


def _refuse_unwritable(dataset: Dataset, name: str, text: pd.Series) -> None:
    """The first value with a character XPT cannot hold: non-ASCII first, then control."""
    non_ascii = ~text.str.isascii().astype(bool)
    if non_ascii.any():
        value = printable(text[non_ascii].iloc[0])
        raise UserError(
            f"{name} value '{value}' has non-ASCII characters at {_record(dataset, non_ascii)}",
            f"{dataset.filename_stem}.xpt",
            "XPT v5 holds ASCII only; transliterate the source value",
        )
    control = text.str.contains(_CONTROL, regex=True).astype(bool)
    if control.any():
        value = printable(text[control].iloc[0])
        raise UserError(
            f"{name} value '{value}' has a control character at {_record(dataset, control)}",
            f"{dataset.filename_stem}.xpt",
            "remove it from the source value (tabs and line breaks are kept)",
        )


def _check_num(dataset: Dataset, name: str, column: pd.Series) -> None:
    values = column.to_numpy(dtype="float64")
    magnitude = np.abs(values)
    bad = pd.Series(
        np.isinf(values) | (magnitude >= IBM_MAX) | ((magnitude < IBM_MIN) & (magnitude > 0)),
        index=column.index,
    )
    if bad.any():
        value = float(values[bad.to_numpy()][0])
        raise UserError(
            f"{name} value {value!r} is outside the IBM float range at {_record(dataset, bad)}",
            f"{dataset.filename_stem}.xpt",
            f"XPT v5 numbers must be 0 or from {IBM_MIN:.4g} to below {IBM_MAX:.4g} in magnitude",
        )


def write(
    dataset: Dataset, folder: Path, created: datetime = SAS_EPOCH, check: bool = True
) -> Path:
    """Check (unless the caller already did), then write `<name>.xpt` via a temporary file
    renamed into place. Header timestamps are `created`: same inputs, byte-identical files."""
    if check:
        _check(dataset)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{dataset.filename_stem}.xpt"
    columns = [
        XportColumn(c.name, c.label, c.type, 8 if c.type == "Num" else c.length)
        for c in dataset.table().columns
    ]
    with atomic_file(target) as handle:
        write_xport(handle, dataset.name, dataset.label, columns, dataset.frame, created)
    return target


def read(path: Path) -> tuple[pd.DataFrame, dict[str, str], str]:
    """(frame, labels by variable, dataset label); blank text comes back as NA."""
    data = read_xport(path)
    return data.frame, {v.name: v.label for v in data.variables}, data.label


def read_table(path: Path) -> Table:
    """An XPT file as a Table: values, labels, types and stored lengths. A variable name the
    file repeats is read once (its first variable); the repeats are kept in `repeated`."""
    data = read_xport(path)
    columns = [_column(v, data.frame[v.name]) for v in data.variables]
    return Table(
        name=data.name or path.stem.upper(),
        label=data.label,
        frame=data.frame,
        columns=columns,
        repeated=tuple(_column(v, None) for v in data.repeated),
    )


def _column(variable: XportVariable, values: pd.Series | None) -> Column:
    """The variable as files describe it; a repeat (no values read) counts as a double."""
    if variable.type == "Char":
        data_type = "string"
    else:
        data_type = "double" if values is None else numeric_type(values)
    return Column(variable.name, variable.label, variable.type, variable.width, data_type)
