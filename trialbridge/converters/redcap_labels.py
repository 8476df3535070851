"""REDCap's labels exports, refused with one line that says how to export raw data.

A labels export ('CSV / Microsoft Excel (labels)', or the API's rawOrLabel=label and
rawOrLabelHeaders=label) writes each field's label for its name in the header and each
choice's label for its code in the cells. Read as raw data it would fail on every cell, or
worse, map labels where a spec expects codes: it is known by what only a labels export
holds, and refused before its values are checked."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge.converters.lineage import ROW
from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError, at_row

FIX_RAW = (
    'export the raw data: in REDCap, Export Data, "CSV / Microsoft Excel (raw data)"; '
    "API: rawOrLabel=raw, rawOrLabelHeaders=raw"
)
STATUS_LABELS = ("Incomplete", "Unverified", "Complete")  # codes 0, 1, 2
# what a labels export writes for the fixed codes of these field types
FIXED_LABELS = {
    "yesno": (("1", "0"), ("Yes", "No")),
    "truefalse": (("1", "0"), ("True", "False")),
    "checkbox": (("1", "0"), ("Checked", "Unchecked")),
}
_ARM_LABEL = r".* \(Arm [0-9]+: .*\)"  # 'Enrollment (Arm 1: Drug A)'
_HEAD_BYTES = 1 << 20
_WHAT = "this is a labels export, not raw data: "


def refuse_label_header(
    path: Path, shown: str, encoding: str, record_id: str, first_label: str
) -> None:
    """Refuse a header of labels: with no record id column, a cell that is the record id's
    label, a checkbox choice's label or a form status's."""
    names = _header(path, encoding)
    if not names or record_id in names:
        return
    for name in names:
        if first_label and name == first_label:
            said = f"header '{shown_value(name)}' is the label of the record id field {record_id}"
        elif "(choice=" in name:
            said = f"header '{shown_value(name)}' is the label of a checkbox choice"
        elif name == "Complete?":
            said = "header 'Complete?' is the label of a form status"
        else:
            continue
        raise UserError(_WHAT + said, at_row(shown, 1, name), FIX_RAW)


def _header(path: Path, encoding: str) -> list[str]:
    """The first row as far as it reads; the full read that follows names any problem."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    try:
        row = next(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")), [])
    except csv.Error:
        return []
    return [name.strip() for name in row]


def refuse_label_values(
    records: pd.DataFrame,
    shown: str,
    choices: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
    events: pd.Series,
    event_labels: pd.Series,
) -> None:
    """Refuse a column of choice labels (none of its values a code, some a label: a label
    that is also a code, or a missing data code, is no sign) and event labels."""
    for name, (codes, labels) in choices.items():
        values = records[name]
        distinct = pd.Series(values.dropna().unique(), dtype=values.dtype)
        if distinct.empty or distinct.isin(codes).any() or not distinct.isin(labels).any():
            continue
        row = _first(records, values.isin(labels))
        value = values[values.isin(labels)].iloc[0]
        said = f"value '{shown_value(value)}' of field {name} is a choice's label, not its code"
        raise UserError(_WHAT + said, at_row(shown, row, name), FIX_RAW)
    if "redcap_event_name" in records.columns:
        event = records["redcap_event_name"]
        label = event.str.fullmatch(_ARM_LABEL).fillna(False)
        label |= event.isin(event_labels) & ~event.isin(events)
        if label.any():
            value = event[label].iloc[0]
            said = f"event '{shown_value(value)}' is an event's label, not its unique name"
            where = at_row(shown, _first(records, label), "redcap_event_name")
            raise UserError(_WHAT + said, where, FIX_RAW)


def _first(records: pd.DataFrame, flags: pd.Series) -> int:
    return int(records[ROW].to_numpy()[np.flatnonzero(flags.to_numpy(dtype=bool))[0]])
