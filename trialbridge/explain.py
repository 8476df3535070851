"""Where a record or value of a convert's output came from: the source file, row and column;
each variable's origin, the spec line that set it, and for a derived one its method and the
values it was derived from (or why it is empty); the FHIR resource the record becomes. Read
from the output folder alone: its datasets, define-derived lineage (OUT/lineage) and the
shipped method and reason tables."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge import lineage_files
from trialbridge.errors import UserError
from trialbridge.fhir.build import domain_of
from trialbridge.fhir.ids import key_text, resource_id
from trialbridge.fhir.table import table
from trialbridge.related_records import related_lines
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.printable import printable
from trialbridge.sdtm.read import read_folder
from trialbridge.sdtm.standards import rows

NO_SUBJECT = "-"  # the USUBJID argument for a dataset of no subject (TS, TA, ...)


def explain(out: Path, domain: str, usubjid: str, seq: str, variable: str | None) -> list[str]:
    """The lines `trialbridge explain` prints for one record, or one of its variables."""
    if not (out / lineage_files.FOLDER / lineage_files.RECORDS).is_file():
        raise UserError(
            "the folder holds no lineage",
            str(out),
            "give the folder `convert --out` wrote (it holds sdtm/ and lineage/)",
        )
    datasets = read_folder(out / "sdtm")
    dataset = _dataset(datasets, domain, out)
    at = _record(dataset, usubjid, seq)
    record = dataset.frame.iloc[at]
    source = lineage_files.read_records(out, dataset.name).iloc[at]
    described = lineage_files.read_variables(out).get(dataset.name, {})
    names = [v.name for v in dataset.variables]
    if variable is not None and variable not in names:
        raise UserError(
            f"{dataset.name} has no variable {printable(variable)}",
            "VARIABLE",
            f"use one of: {', '.join(names)}",
        )
    dm = datasets.get("DM")
    subject = _subject(dm, usubjid) if dm is not None else None
    lines = [f"{dataset.name} record {at + 1}: USUBJID {usubjid}" + _seq_text(dataset, seq)]
    lines.append(f"  source: {_place(source)}")
    for name in [variable] if variable else names:
        lines.append(_variable_line(dataset, record, subject, name, described.get(name), source))
    if variable is None:
        lines += related_lines(datasets, dataset, record)
    lines.append(f"  FHIR: {_fhir(dataset, at)}")
    return lines


def _dataset(datasets: dict[str, Dataset], domain: str, out: Path) -> Dataset:
    found = datasets.get(domain.upper())
    if found is None:
        raise UserError(
            f"no dataset {printable(domain)} in {out / 'sdtm'}",
            "DOMAIN",
            f"use one of: {', '.join(datasets)}",
        )
    return found


def _record(dataset: Dataset, usubjid: str, seq: str) -> int:
    """The record's position in the dataset: by USUBJID and --SEQ; in a dataset without
    --SEQ, SEQ counts the subject's records (1 in DM); without USUBJID (trial design),
    USUBJID is '-' and SEQ counts the dataset's records."""
    frame = dataset.frame
    if "USUBJID" in frame:
        mine = (frame["USUBJID"].astype("string") == usubjid).fillna(False).to_numpy()
    elif usubjid == NO_SUBJECT:
        mine = np.ones(len(frame), bool)
    else:
        raise UserError(
            f"{dataset.name} holds no subject's records",
            "USUBJID",
            f"give {NO_SUBJECT} for USUBJID and the record's number for SEQ",
        )
    if not mine.any():
        raise UserError(
            f"no {dataset.name} record of USUBJID {printable(usubjid)}",
            "USUBJID",
            "give the USUBJID as the dataset holds it",
        )
    name = f"{dataset.name}SEQ"
    numbers = (
        pd.to_numeric(frame[name], errors="coerce").to_numpy()
        if name in frame and "USUBJID" in frame
        else np.cumsum(mine).astype(float)
    )
    hit = (mine & (numbers == _number(seq))).nonzero()[0]
    if not len(hit):
        held = numbers[mine]
        what = name if name in frame and "USUBJID" in frame else "record number"
        raise UserError(
            f"no {dataset.name} record with {what} {printable(seq)}"
            + (f" for USUBJID {printable(usubjid)}" if "USUBJID" in frame else ""),
            "SEQ",
            f"give one from {np.nanmin(held):g} to {np.nanmax(held):g}",
        )
    return int(hit[0])


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _seq_text(dataset: Dataset, seq: str) -> str:
    name = f"{dataset.name}SEQ"
    if name in dataset.frame and "USUBJID" in dataset.frame:
        return f", {name} {seq}"
    return f", record {seq}" + (" of the subject" if "USUBJID" in dataset.frame else "")


def _subject(dm: Dataset, usubjid: str) -> pd.Series | None:
    found = dm.frame.loc[dm.frame["USUBJID"].astype("string") == usubjid]
    return found.iloc[0] if len(found) else None


def _place(source: pd.Series) -> str:
    """A record's source as `file, row N, column C` (what is known of it)."""
    if pd.isna(source["file"]):
        return "none (made from the study definition and other records)"
    parts = [str(source["file"])]
    if not pd.isna(source["row"]):
        parts.append(f"row {int(source['row'])}")
    if not pd.isna(source["column"]):
        parts.append(f"column {source['column']}")
    return ", ".join(parts)


def _variable_line(
    dataset: Dataset,
    record: pd.Series,
    subject: pd.Series | None,
    name: str,
    described: dict | None,
    source: pd.Series,
) -> str:
    value = record[name]
    head = f"  {name} {_shown(value)}"
    if described is None:
        return f"{head}: no lineage recorded"
    origin = described["origin"]
    parts = [origin]
    specs = [w for f, c, w in described["spec"] if _applies(f, c, source)]
    if origin == "Collected" and not pd.isna(source["file"]):
        parts.append(f"from {_place(source)}")
    if specs:
        parts.append(f"set by {', '.join(specs)}")
    if described["method"]:
        parts.append(described["method"].rstrip("."))
    inputs = _inputs(dataset, record, subject, name)
    if inputs and origin == "Derived":
        parts.append(f"derived from {inputs}")
    if _empty(value):
        reason = _empty_reason(dataset.name, name)
        if reason:
            parts.append(f"empty because {reason}")
    return f"{head}: " + "; ".join(parts)


def _applies(file: str, column: str, source: pd.Series) -> bool:
    """A spec line applies to the record when it names the record's file (and its melted
    column, for a line inside a melt)."""
    if pd.isna(source["file"]) or file != source["file"]:
        return False
    return not column or (not pd.isna(source["column"]) and column == source["column"])


def _inputs(dataset: Dataset, record: pd.Series, subject: pd.Series | None, name: str) -> str:
    """The values a derived variable was derived from, as the method table names them."""
    wanted = _lookup(_method_inputs(), dataset.name, name)
    shown = []
    for token in wanted.split():
        if token.startswith("DM."):
            column = token[3:]
            if subject is not None and column in subject:
                shown.append(f"{token} {_shown(subject[column])}")
            continue
        column = dataset.name + token[2:] if token.startswith("--") else token
        if column in record:
            shown.append(f"{column} {_shown(record[column])}")
    return ", ".join(shown)


@cache
def _method_inputs() -> dict[str, str]:
    return {row["variable"]: row["inputs"] for row in rows("methods.csv")}


@cache
def _reasons() -> dict[str, str]:
    return {row["variable"]: row["why"] for row in rows("left_empty_reasons.csv")}


def _empty_reason(dataset: str, name: str) -> str:
    return _lookup(_reasons(), dataset, name)


def _lookup(table: dict[str, str], dataset: str, name: str) -> str:
    """A shipped table's entry for a variable: by name, else by its `--` form."""
    if name in table:
        return table[name]
    return table.get(f"--{name[len(dataset) :]}", "") if name.startswith(dataset) else ""


def _fhir(dataset: Dataset, at: int) -> str:
    """The resource the record becomes (its id is made from the record's keys, as `fhir
    build` makes it)."""
    spec = table(domain_of(dataset))
    if spec is None:
        return f"none: {dataset.name} has no FHIR mapping yet"
    one = dataset.frame.iloc[[at]]
    key = [key_text(one[v])[0].as_py() for v in spec.id_from]
    study = str(one["STUDYID"].iloc[0])
    return f"{spec.resource}/{resource_id(study, spec.resource, dataset.name, *key)}"


def _empty(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
        or value == ""
    )


def _shown(value: object) -> str:
    if _empty(value):
        return "(empty)"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(float(value))
    return f"'{printable(str(value))}'"
