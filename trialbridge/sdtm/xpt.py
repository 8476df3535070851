"""SAS XPORT v5 writing (after checking the FDA's v5 limits) and reading back."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from trialbridge.errors import UserError
from trialbridge.sdtm.dataset import Column, Dataset, Table, numeric_type

MAX_NAME = 8
MAX_LABEL = 40
MAX_VALUE_BYTES = 200
# The IBM double range is 16**-65 .. 16**63 * (1 - 16**-14) (about 7.24e75), but pyreadstat
# 1.3 writes every magnitude from 2 * 16**62 (about 9.05e74) upward as infinity (measured), so
# that is the largest value this writer can hold faithfully.
IBM_MAX = 2 * 16.0**62
IBM_MIN = 16.0**-65
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
# created/modified stamps of the library and member headers: (byte offset) of each 16-byte field
_STAMPS = (144, 160, 464, 480)
_STAMP = re.compile(rb"^\d{2}[A-Z]{3}\d{2}:\d{2}:\d{2}:\d{2}$")
SAS_EPOCH = datetime(1960, 1, 1)


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
    text = column.fillna("")
    non_ascii = ~text.str.isascii().astype(bool)
    if non_ascii.any():
        value = text[non_ascii].iloc[0]
        raise UserError(
            f"{name} value '{value}' has non-ASCII characters at {_record(dataset, non_ascii)}",
            f"{dataset.filename_stem}.xpt",
            "XPT v5 holds ASCII only; transliterate the source value",
        )
    too_long = text.str.len() > MAX_VALUE_BYTES
    if too_long.any():
        length = int(text[too_long].str.len().iloc[0])
        raise UserError(
            f"{name} value is {length} bytes at {_record(dataset, too_long)}",
            f"{dataset.filename_stem}.xpt",
            f"XPT v5 allows {MAX_VALUE_BYTES}; shorten it or split it into SUPP variables",
        )


def _check_num(dataset: Dataset, name: str, column: pd.Series) -> None:
    values = column.to_numpy(dtype="float64")
    magnitude = np.abs(values)
    bad = pd.Series(
        np.isinf(values) | (magnitude >= IBM_MAX) | ((magnitude < IBM_MIN) & (magnitude > 0)),
        index=column.index,
    )
    if bad.any():
        value = values[bad.to_numpy()][0]
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
    frame = _for_writer(dataset)
    fd, tmp = tempfile.mkstemp(prefix=f".{dataset.filename_stem}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        pyreadstat.write_xport(
            frame,
            tmp,
            file_label=dataset.label,
            column_labels=[v.label for v in dataset.variables],
            table_name=dataset.name,
            file_format_version=5,
        )
        _stamp(Path(tmp), created)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _stamp(path: Path, created: datetime) -> None:
    """Overwrite the writer's clock time in the four header timestamp fields."""
    text = created.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    with path.open("r+b") as handle:
        for offset in _STAMPS:
            handle.seek(offset)
            if not _STAMP.match(handle.read(16)):
                raise RuntimeError(f"unexpected XPT header layout at byte {offset}")
            handle.seek(offset)
            handle.write(text)


def _for_writer(dataset: Dataset) -> pd.DataFrame:
    """Object columns (fast path in pyreadstat); missing text as ''."""
    columns = {}
    for var in dataset.variables:
        column = dataset.frame[var.name]
        if var.type == "Char":
            columns[var.name] = column.fillna("").astype(object)
        else:
            columns[var.name] = column.astype("float64")
    return pd.DataFrame(columns)


def read(path: Path) -> tuple[pd.DataFrame, dict[str, str], str]:
    """(frame, labels by variable, dataset label); blank text comes back as NA."""
    frame, meta = pyreadstat.read_xport(str(path))
    for name in frame.columns:
        if frame[name].dtype == object or str(frame[name].dtype) == "str":
            text = frame[name].astype("str")
            frame[name] = text.where(text != "")
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    return frame, labels, meta.file_label or ""


def read_table(path: Path) -> Table:
    """An XPT file as a Table: values, labels, types and stored lengths."""
    frame, meta = pyreadstat.read_xport(str(path))
    columns = []
    for name, label in zip(meta.column_names, meta.column_labels, strict=True):
        char = meta.readstat_variable_types[name] == "string"
        if char:
            text = frame[name].astype("str")
            frame[name] = text.where(text != "")
        columns.append(
            Column(
                name=name,
                label=label or "",
                type="Char" if char else "Num",
                length=int(meta.variable_storage_width[name]),
                data_type="string" if char else numeric_type(frame[name]),
            )
        )
    return Table(
        name=meta.table_name or path.stem.upper(),
        label=meta.file_label or "",
        frame=frame,
        columns=columns,
    )
