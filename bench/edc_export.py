"""EDC exports of a CSV study: one CDISC ODM 1.3.2 file and one REDCap project export
(records, data dictionary, instrument designations), both from the study's CSV forms and a
design file (edc.yaml) that says how each CSV form becomes an EDC form. Nothing here knows a
study: forms, events, items, codelists and value conversions all come from the design.

Records keep the CSVs' order: subjects sorted by key, each subject's events in protocol
order (an instance of a repeating event right after the scheduled event it follows in the
CSV), forms in design order, rows in CSV order. Output is deterministic: the file header
carries study.yaml's `created`, never the clock.

Both writers stream: whole subjects of about BLOCK records at a time, each block's text
built column-wise, so that what they hold beyond the source tables stays flat. A benchmark
writes an export of any size from scaled tables (bench/scale.py):
`edc = load_design(path); write_odm(edc, read_tables(edc, scaled_root, missing_ok=True), out)`.

    python -m bench.edc_export STUDY/edc.yaml --odm EXPORT.odm.xml --redcap FOLDER
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree
from pydantic import Field, model_validator

from trialbridge.converters.dates import assemble
from trialbridge.converters.odm_metadata import ItemDef
from trialbridge.converters.odm_types import first_misfit
from trialbridge.errors import UserError, at_row
from trialbridge.study import Strict
from trialbridge.yamlio import load_model, read_yaml

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RECORDS, DICTIONARY, DESIGNATIONS = (
    "records.csv",
    "data_dictionary.csv",
    "instrument_designations.csv",
)
# the data dictionary header, exactly as REDCap exports it
DICTIONARY_HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# REDCap text validation for each ODM DataType (none: free text)
VALIDATION = {"integer": "integer", "float": "number", "date": "date_dmy", "partialTime": "time"}
_PARTIAL_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"))
_CONTROLS = (("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;"))
_CLOSE_FORM = "        </FormData>\n"
_CLOSE_EVENT = "      </StudyEventData>\n"
_CLOSE_SUBJECT = "    </SubjectData>\n"
_FIX = "fix the CSV or the design (edc.yaml)"
BLOCK = 20_000  # records built and written together: what the writers hold

OdmType = Literal["text", "integer", "float", "date", "partialDate", "partialTime"]


class Checkbox(Strict):
    """The column is one choice of a REDCap checkbox field."""

    field: str
    code: str


class Item(Strict):
    """One CSV column as an EDC item: ODM ItemDef and REDCap field."""

    column: str
    name: str = Field(description="ODM ItemDef Name and REDCap field name")
    oid: str
    label: str
    type: OdmType | None = Field(default=None, description="ODM DataType; else the codelist's")
    codelist: str | None = None
    recode: Literal["decode"] | dict[str, str] | None = Field(
        default=None, description="CSV text -> code; 'decode': the CSV holds the decodes"
    )
    format: str | None = Field(default=None, description="the CSV date format, if not the study's")
    length: int | None = Field(default=None, description="ODM Length; else from the data")
    mandatory: bool = False
    missing: Literal["omit", "isnull"] = Field(
        default="omit", description="a missing value: no ItemData, or ItemData IsNull='Yes'"
    )
    redcap: Literal["text", "notes", "radio", "dropdown", "yesno"] | None = None
    validation: str | None = Field(default=None, description="REDCap text validation")
    checkbox: Checkbox | None = None

    @model_validator(mode="after")
    def _typed(self) -> Item:
        if self.type is None and self.codelist is None:
            raise ValueError(f"item {self.name}: give a type or a codelist")
        coded = self.recode is not None or self.redcap in ("radio", "dropdown", "yesno")
        if coded and self.codelist is None:
            raise ValueError(
                f"item {self.name}: a recode or a {self.redcap} field needs a codelist"
            )
        return self


class Form(Strict):
    """One CSV form: an ODM FormDef with one ItemGroupDef, and a REDCap instrument."""

    name: str = Field(description="the REDCap instrument and the form's table name")
    file: str = Field(description="the CSV, relative to the design file")
    oid: str
    label: str
    group: str = Field(description="ItemGroupDef OID")
    event: str | None = Field(default=None, description="the one event the form sits in")
    visit: str | None = Field(default=None, description="the CSV column naming the event")
    events: list[str] = Field(default_factory=list, description="events a `visit` form has")
    repeat: bool = False
    checkboxes: dict[str, str] = Field(default_factory=dict, description="field -> label")
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _placed(self) -> Form:
        if (self.event is None) == (self.visit is None):
            raise ValueError(f"form {self.name}: give exactly one of 'event' or 'visit'")
        if self.visit is not None and not self.events:
            raise ValueError(f"form {self.name}: a 'visit' form needs its 'events'")
        if self.event is not None and self.events:
            raise ValueError(f"form {self.name}: 'events' is for a 'visit' form")
        return self

    @property
    def designated(self) -> list[str]:
        return [self.event] if self.event is not None else self.events


class Event(Strict):
    key: str = Field(description="the code the CSV visit columns use")
    oid: str
    name: str
    redcap: str = Field(description="REDCap unique event name")
    type: Literal["Scheduled", "Unscheduled", "Common"] = "Scheduled"
    repeating: bool = False


class CodeList(Strict):
    oid: str
    name: str
    type: Literal["integer", "float", "text"]
    items: dict[str, str] = Field(min_length=1, description="code -> decode")


class Location(Strict):
    oid: str = Field(description="ODM LocationOID")
    dag: str = Field(description="REDCap data access group")


class SiteColumn(Strict):
    form: str
    column: str
    locations: dict[str, Location]


class Version(Strict):
    oid: str
    name: str


class OdmFile(Strict):
    file_oid: str
    study_oid: str
    metadata_version: Version
    description: str | None = None
    source_system: str | None = None


class RecordId(Strict):
    name: str
    label: str


class RedcapProject(Strict):
    arm: int = 1
    record_id: RecordId


class Design(Strict):
    study: str = Field(description="the study.yaml, relative to the design file")
    subject: str = Field(description="the subject column of every form")
    date_format: str = "dd/mm/yyyy"
    unknown: list[str] = Field(default_factory=lambda: ["UN", "UNK", "NK", "XX", "--"])
    site: SiteColumn | None = None
    odm: OdmFile
    redcap: RedcapProject
    events: list[Event] = Field(min_length=1)
    codelists: dict[str, CodeList] = Field(default_factory=dict)
    forms: list[Form] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Design:
        events = {e.key for e in self.events}
        names = [self.redcap.record_id.name]
        oids = [e.oid for e in self.events] + [c.oid for c in self.codelists.values()]
        for form in self.forms:
            oids += [form.oid, form.group]
            for key in form.designated:
                if key not in events:
                    raise ValueError(f"form {form.name}: event '{key}' is not in events")
            for item in form.items:
                oids.append(item.oid)
                if item.codelist is not None and item.codelist not in self.codelists:
                    raise ValueError(f"item {item.name}: codelist '{item.codelist}' is not defined")
                if item.checkbox is None:
                    names.append(item.name)
                elif item.checkbox.field not in form.checkboxes:
                    box = item.checkbox.field
                    raise ValueError(f"item {item.name}: checkbox '{box}' is not defined")
            names += list(form.checkboxes)
        for what, values in (("item name", names), ("OID", oids)):
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{what} '{twice[0]}' is used twice")
        if self.site is not None and self.site.form not in {f.name for f in self.forms}:
            raise ValueError(f"site: form '{self.site.form}' is not a form")
        return self


@dataclass(frozen=True)
class Edc:
    """A loaded design with what the exports take from study.yaml."""

    design: Design
    root: Path  # the design file's folder: form files are relative to it
    studyid: str
    title: str
    created: str
    sites: dict[str, str]  # siteid -> site name

    def form(self, name: str) -> Form:
        return next(f for f in self.design.forms if f.name == name)


def load_design(path: Path) -> Edc:
    """The design file and the study.yaml it names."""
    design, _ = load_model(path, Design, str(path))
    study_path = path.parent / design.study
    study, _ = read_yaml(study_path, design.study)
    if not isinstance(study, dict) or "created" not in study:
        raise UserError("study.yaml has no 'created'", design.study, "add the export timestamp")
    sites = {str(s["siteid"]): str(s.get("name") or s["siteid"]) for s in study.get("sites", [])}
    return Edc(
        design,
        path.parent,
        str(study["studyid"]),
        str(study.get("title", study["studyid"])).strip(),
        str(study["created"]),
        sites,
    )


def read_tables(
    edc: Edc, root: Path | None = None, missing_ok: bool = False
) -> dict[str, pd.DataFrame]:
    """Each form's CSV as trimmed text, blank cells missing. `root` replaces the design's
    folder (a scaled copy of the study); with `missing_ok`, a form without its file is left
    out (the exports then hold its metadata only)."""
    folder = root if root is not None else edc.root
    return {
        form.name: _read_csv(folder / form.file, form.file)
        for form in edc.design.forms
        if not missing_ok or (folder / form.file).is_file()
    }


def _read_csv(path: Path, shown: str) -> pd.DataFrame:
    """Read without a header, so that a row with one field too many is an error rather
    than a shift of every column (pandas would take the first column for an index)."""
    if not path.is_file():
        raise UserError("form file not found", shown, "check 'file' of the form in the design")
    try:
        cells = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    except pd.errors.ParserError as exc:
        raise UserError(f"cannot parse CSV: {exc}", shown, "fix the row's field count") from None
    header = [str(name).strip() for name in cells.iloc[0]]
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise UserError(f"column '{twice[0]}' appears twice in the header", at_row(shown, 1))
    frame = pd.DataFrame(
        {name: cells[i].iloc[1:].str.strip() for i, name in enumerate(header)}
    ).reset_index(drop=True)
    return frame.mask(frame.eq("") | frame.isna())


# --- placing records: subjects, events, repeat keys ----------------------------------------


@dataclass
class Placed:
    """A form's records in export order (by subject, CSV order within one), with their keys."""

    form: Form
    table: pd.DataFrame
    rows: np.ndarray  # the CSV spreadsheet row (header = 1), for messages
    rank: np.ndarray  # the subject's index in the sorted subject keys
    event: np.ndarray  # index into design.events
    instance: np.ndarray  # StudyEventRepeatKey; 0 where the event does not repeat
    repeat: np.ndarray  # ItemGroupRepeatKey; 0 where the form does not repeat
    position: np.ndarray  # where the event instance sits among the subject's events
    conversions: dict[str, Conversion] = field(default_factory=dict)  # by item OID

    def slice(self, lo: int, hi: int) -> Placed:
        return Placed(
            self.form,
            self.table.iloc[lo:hi].reset_index(drop=True),
            *(a[lo:hi] for a in (self.rows, self.rank, self.event, self.instance)),
            *(a[lo:hi] for a in (self.repeat, self.position)),
            self.conversions,
        )

    def values(self, item: Item) -> tuple[pd.Series, pd.Series]:
        """The item's values as ODM and as REDCap export them; missing stays missing."""
        return self.conversions[item.oid].apply(self.table[item.column])


@dataclass
class Layout:
    """Every form's records placed, the subject keys in order and each subject's site."""

    subjects: np.ndarray
    sites: np.ndarray  # the subject's site code, "" where unknown
    placed: list[Placed]

    def blocks(self, size: int) -> Iterator[tuple[int, int, list[Placed]]]:
        """Subjects [start, stop) and their records, whole subjects of about `size` records
        at a time, so that what a block holds does not depend on how many records a
        subject has."""
        per_subject = sum(np.bincount(p.rank, minlength=len(self.subjects)) for p in self.placed)
        ends = np.cumsum(per_subject)
        cuts = np.searchsorted(ends, np.arange(size, int(ends[-1]) if len(ends) else 0, size))
        bounds = np.unique(np.r_[0, cuts + 1, len(self.subjects)].clip(0, len(self.subjects)))
        for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            parts = []
            for p in self.placed:
                lo, hi = np.searchsorted(p.rank, [start, stop])
                parts.append(p.slice(int(lo), int(hi)))
            yield start, stop, parts


def layout(edc: Edc, tables: dict[str, pd.DataFrame]) -> Layout:
    """Place the records of every form that has a table."""
    design = edc.design
    forms = [f for f in design.forms if f.name in tables]
    for form in forms:
        _check_columns(edc, form, tables[form.name])
    keys = [tables[f.name][design.subject].to_numpy(dtype=str) for f in forms]
    subjects = np.unique(np.concatenate(keys)) if keys else np.array([], dtype=str)
    placed = [_place(edc, f, tables[f.name], subjects) for f in forms]
    for part in placed:
        part.conversions = {i.oid: conversion(edc, part.form, i, part) for i in part.form.items}
    _align_positions(placed)
    return Layout(subjects, _sites(edc, tables, subjects), placed)


def _check_columns(edc: Edc, form: Form, table: pd.DataFrame) -> None:
    """Every CSV column is an item, the subject, the visit or the site; every item is there."""
    design = edc.design
    known = {design.subject, form.visit, *(i.column for i in form.items)}
    if design.site is not None and design.site.form == form.name:
        known.add(design.site.column)
    for column in table.columns:
        if column not in known:
            raise UserError(
                f"column '{column}' is not an item of form {form.name}",
                at_row(form.file, 1, column),
                "add it to the form's items in the design",
            )
    absent = sorted(c for c in known - set(table.columns) if c is not None)
    if absent:
        raise UserError(f"form {form.name} has no column '{absent[0]}'", at_row(form.file, 1), _FIX)
    missing = table[design.subject].isna().to_numpy()
    if missing.any():
        row = int(np.argmax(missing)) + 2
        raise UserError("the subject is missing", at_row(form.file, row, design.subject), _FIX)


def _place(edc: Edc, form: Form, table: pd.DataFrame, subjects: np.ndarray) -> Placed:
    events = edc.design.events
    rank = np.searchsorted(subjects, table[edc.design.subject].to_numpy(dtype=str))
    order = np.argsort(rank, kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    rows, rank = order + 2, rank[order]
    event = _event_index(edc, form, table, rows)
    repeating = np.array([e.repeating for e in events], dtype=bool)[event]
    keys = pd.DataFrame({"rank": rank, "event": event})
    instance = np.where(repeating, keys.groupby(["rank", "event"]).cumcount() + 1, 0)
    keys["instance"] = instance
    if form.repeat:
        repeat = keys.groupby(["rank", "event", "instance"]).cumcount().to_numpy() + 1
    else:
        twice = keys.duplicated().to_numpy()
        if twice.any():
            at = int(np.argmax(twice))
            raise UserError(
                f"form {form.name} does not repeat, yet subject {subjects[rank[at]]} has a "
                f"second record at event {events[event[at]].key}",
                at_row(form.file, int(rows[at])),
                "set 'repeat: true' for the form in the design",
            )
        repeat = np.zeros(len(table), dtype=np.int64)
    # an instance of a repeating event follows the scheduled event before it in the CSV
    scheduled = pd.Series(np.where(repeating, np.nan, event.astype(float)))
    before = scheduled.groupby(rank).ffill().fillna(-1).to_numpy()
    position = np.where(repeating, before + 0.5, event.astype(float))
    return Placed(form, table, rows, rank, event, instance, repeat, position)


def _event_index(edc: Edc, form: Form, table: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    index = {e.key: i for i, e in enumerate(edc.design.events)}
    if form.event is not None:
        return np.full(len(table), index[form.event], dtype=np.int64)
    allowed = {key: index[key] for key in form.events}
    codes = table[form.visit].map(allowed)
    bad = codes.isna().to_numpy()
    if bad.any():
        at = int(np.argmax(bad))
        value = table[form.visit].iloc[at]
        raise UserError(
            f"visit '{'' if pd.isna(value) else value}' is not an event of form {form.name}",
            at_row(form.file, int(rows[at]), form.visit),
            f"use one of {', '.join(form.events)}, or add the event to the form's events",
        )
    return codes.to_numpy(dtype=np.int64)


def _align_positions(placed: list[Placed]) -> None:
    """One position per event instance: the earliest any form gives it."""
    if not placed:
        return
    keys = ["rank", "event", "instance"]
    frames = [
        pd.DataFrame({"rank": p.rank, "event": p.event, "instance": p.instance, "at": p.position})
        for p in placed
    ]
    best = pd.concat(frames).groupby(keys)["at"].min()
    for p, frame in zip(placed, frames, strict=True):
        p.position = best.reindex(pd.MultiIndex.from_frame(frame[keys])).to_numpy()


def _sites(edc: Edc, tables: dict[str, pd.DataFrame], subjects: np.ndarray) -> np.ndarray:
    """Each subject's site code, from the design's site column."""
    site = edc.design.site
    codes = np.full(len(subjects), "", dtype=object)
    if site is None or site.form not in tables:
        return codes
    table = tables[site.form]
    given = table[[edc.design.subject, site.column]].dropna().drop_duplicates(edc.design.subject)
    unknown = ~given[site.column].isin(list(site.locations))
    if unknown.any():
        at = int(np.argmax(unknown.to_numpy()))
        raise UserError(
            f"site '{given[site.column].iloc[at]}' has no location in the design",
            at_row(edc.form(site.form).file, int(given.index[at]) + 2, site.column),
            "add it under site: locations",
        )
    rank = np.searchsorted(subjects, given[edc.design.subject].to_numpy(dtype=str))
    codes[rank] = given[site.column].to_numpy(dtype=object)
    return codes


# --- values ---------------------------------------------------------------------------------


def data_type(edc: Edc, item: Item) -> str:
    """The item's ODM DataType."""
    if item.type is not None:
        return item.type
    return edc.design.codelists[item.codelist or ""].type


@dataclass(frozen=True)
class Conversion:
    """How an item's CSV text becomes the exported value, worked out once per distinct
    value: a lookup from the text (None: the text as it is) for ODM and for REDCap."""

    odm: pd.Series | None
    redcap: pd.Series | None

    def apply(self, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        odm = raw if self.odm is None else raw.map(self.odm)
        return odm, raw if self.redcap is None else raw.map(self.redcap)


def conversion(edc: Edc, form: Form, item: Item, placed: Placed) -> Conversion:
    """Check every distinct value of the item and work out what it becomes; a value that
    does not fit is an error naming its first CSV cell."""
    raw = placed.table[item.column]
    distinct = pd.Series(raw.dropna().unique(), dtype="str")
    kind = data_type(edc, item)
    codes = edc.design.codelists[item.codelist].items if item.codelist else None
    values = distinct

    def fail(flags: pd.Series, why: str) -> None:
        bad = flags.fillna(False).to_numpy(dtype=bool)
        if bad.any():
            value = distinct.iloc[int(np.argmax(bad))]
            at = int(np.argmax(raw.eq(value).fillna(False).to_numpy(dtype=bool)))
            raise UserError(
                f"value '{value}' of item {item.name} {why}",
                at_row(form.file, int(placed.rows[at]), item.column),
                _FIX,
            )

    if item.recode is not None and codes is not None:
        mapping = {d: c for c, d in codes.items()} if item.recode == "decode" else item.recode
        values = distinct.map(mapping).astype("str")
        fail(values.isna(), "has no code")
    if kind in ("date", "partialDate"):
        fmt = item.format or edc.design.date_format
        dated = assemble(distinct, fmt, edc.design.unknown)
        values = dated.iso
        whole = values.str.len().eq(10) if kind == "date" else values.str.match(_PARTIAL_DATE)
        fail(dated.bad_date | ~whole.fillna(False).astype(bool), f"is not a {kind} ({fmt})")
    definition = ItemDef(item.oid, item.name, kind, item.length, item.codelist)
    bad, why = first_misfit(_arrow(values), definition, list(codes or []) or None)
    fail(pd.Series(np.arange(len(values)) == bad), why.replace("its", "the item's"))
    if values is distinct:
        return Conversion(None, None)
    lookup = pd.Series(values.to_numpy(), index=distinct.to_numpy(), dtype="str")
    return Conversion(lookup, None if kind == "partialDate" else lookup)  # REDCap: the text


def measure(edc: Edc, tables: dict[str, pd.DataFrame]) -> dict[str, tuple[int | None, int | None]]:
    """ODM Length and SignificantDigits per item OID: the design's, else from the data."""
    sizes: dict[str, tuple[int | None, int | None]] = {}
    for form in edc.design.forms:
        table = tables.get(form.name)
        for item in form.items:
            kind = data_type(edc, item)
            column = table[item.column] if table is not None else pd.Series([], dtype="str")
            values = pd.Series(column.dropna().unique(), dtype="str")  # lengths of distinct values
            if item.codelist is not None:
                codes = edc.design.codelists[item.codelist].items
                sizes[item.oid] = (item.length or max(len(c) for c in codes), None)
            elif kind in ("text", "integer"):
                sizes[item.oid] = (item.length or _longest(values.str.lstrip("+-").str.len()), None)
            elif kind == "float":
                digits = values.str.count(r"\d")
                decimals = values.str.extract(r"\.(\d*)", expand=False).str.len()
                sizes[item.oid] = (item.length or _longest(digits), _longest(decimals, 0))
            else:
                sizes[item.oid] = (None, None)
    return sizes


def _longest(lengths: pd.Series, floor: int = 1) -> int:
    found = lengths.max() if len(lengths) else None
    return max(int(found), floor) if found is not None and not pd.isna(found) else floor


# --- ODM ------------------------------------------------------------------------------------


def write_odm(edc: Edc, tables: dict[str, pd.DataFrame], path: Path, block: int = BLOCK) -> int:
    """Write the ODM 1.3.2 snapshot (metadata of every form, data of the forms in `tables`),
    about `block` records (ItemGroupData) at a time; returns the number of ItemData written."""
    plan = layout(edc, tables)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(_odm_head(edc, measure(edc, tables)))
        design = edc.design
        out.write(
            f'  <ClinicalData StudyOID="{_attr(design.odm.study_oid)}" '
            f'MetaDataVersionOID="{_attr(design.odm.metadata_version.oid)}">\n'
        )
        for start, stop, parts in plan.blocks(block):
            text, count = _odm_block(edc, plan, start, stop, parts)
            out.write(text)
            written += count
        out.write("  </ClinicalData>\n</ODM>\n")
    return written


def _attr(value: str) -> str:
    for old, new in (*_ESCAPES, *_CONTROLS):
        value = value.replace(old, new)
    return value


def _arrow(values: pd.Series) -> pa.Array:
    """Text values as one Arrow array (pandas may hold them in chunks)."""
    array = pa.array(values, pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _escaped(values: pa.Array) -> pa.Array:
    """Text fit for an XML attribute value; most columns have nothing to escape."""
    if not pc.any(pc.match_substring_regex(values, '[&<>"\n\r\t]')).as_py():
        return values
    for old, new in (*_ESCAPES, *_CONTROLS):
        values = pc.replace_substring(values, old, new)
    return values


def _odm_head(edc: Edc, sizes: dict[str, tuple[int | None, int | None]]) -> str:
    """Everything before ClinicalData: the root, Study (metadata) and AdminData (sites)."""
    design = edc.design
    header = {
        "ODMVersion": "1.3.2",
        "FileType": "Snapshot",
        "FileOID": design.odm.file_oid,
        "CreationDateTime": edc.created,
        "AsOfDateTime": edc.created,
    }
    if design.odm.description:
        header["Description"] = design.odm.description
    if design.odm.source_system:
        header["SourceSystem"] = design.odm.source_system
    root = etree.Element(f"{{{ODM_NS}}}ODM", nsmap={None: ODM_NS})
    for key, value in header.items():
        root.set(key, value)
    study = _sub(root, "Study", OID=design.odm.study_oid)
    variables = _sub(study, "GlobalVariables")
    _sub(variables, "StudyName").text = edc.studyid
    _sub(variables, "StudyDescription").text = edc.title
    _sub(variables, "ProtocolName").text = edc.studyid
    version = design.odm.metadata_version
    _metadata(edc, _sub(study, "MetaDataVersion", OID=version.oid, Name=version.name), sizes)
    _admin(edc, root)
    etree.indent(root, space="  ")
    text = etree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text[: text.rindex("</ODM>")]


def _sub(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ODM_NS}}}{tag}", attributes)


def _yes(flag: bool) -> str:
    return "Yes" if flag else "No"


def _metadata(
    edc: Edc, mdv: etree._Element, sizes: dict[str, tuple[int | None, int | None]]
) -> None:
    design = edc.design
    protocol = _sub(mdv, "Protocol")
    for number, event in enumerate(design.events, 1):
        mandatory = event.type == "Scheduled" and not event.repeating
        _sub(
            protocol,
            "StudyEventRef",
            StudyEventOID=event.oid,
            OrderNumber=str(number),
            Mandatory=_yes(mandatory),
        )
    for event in design.events:
        node = _sub(
            mdv,
            "StudyEventDef",
            OID=event.oid,
            Name=event.name,
            Repeating=_yes(event.repeating),
            Type=event.type,
        )
        forms = [f for f in design.forms if event.key in f.designated]
        for number, form in enumerate(forms, 1):
            _sub(node, "FormRef", FormOID=form.oid, OrderNumber=str(number), Mandatory="No")
    for form in design.forms:
        node = _sub(mdv, "FormDef", OID=form.oid, Name=form.label, Repeating="No")
        _sub(node, "ItemGroupRef", ItemGroupOID=form.group, Mandatory="Yes")
    for form in design.forms:
        node = _sub(mdv, "ItemGroupDef", OID=form.group, Name=form.label)
        node.set("Repeating", _yes(form.repeat))
        for number, item in enumerate(form.items, 1):
            _sub(
                node,
                "ItemRef",
                ItemOID=item.oid,
                OrderNumber=str(number),
                Mandatory=_yes(item.mandatory),
            )
    for form in design.forms:
        for item in form.items:
            _item_def(edc, mdv, item, sizes[item.oid])
    for codelist in design.codelists.values():
        node = _sub(mdv, "CodeList", OID=codelist.oid, Name=codelist.name, DataType=codelist.type)
        for code, decode in codelist.items.items():
            term = _sub(_sub(node, "CodeListItem", CodedValue=code), "Decode")
            _sub(term, "TranslatedText", **{XML_LANG: "en"}).text = decode


def _item_def(
    edc: Edc, mdv: etree._Element, item: Item, size: tuple[int | None, int | None]
) -> None:
    node = _sub(mdv, "ItemDef", OID=item.oid, Name=item.name, DataType=data_type(edc, item))
    length, digits = size
    if length is not None:
        node.set("Length", str(length))
    if digits is not None:
        node.set("SignificantDigits", str(digits))
    _sub(_sub(node, "Question"), "TranslatedText", **{XML_LANG: "en"}).text = item.label
    if item.codelist is not None:
        _sub(node, "CodeListRef", CodeListOID=edc.design.codelists[item.codelist].oid)


def _admin(edc: Edc, root: etree._Element) -> None:
    """The sites as Locations, so that each SiteRef names a defined location."""
    site = edc.design.site
    if site is None or not site.locations:
        return
    admin = _sub(root, "AdminData", StudyOID=edc.design.odm.study_oid)
    version = edc.design.odm.metadata_version.oid
    for code, location in site.locations.items():
        name = edc.sites.get(code, code)
        node = _sub(admin, "Location", OID=location.oid, Name=name, LocationType="Site")
        _sub(
            node,
            "MetaDataVersionRef",
            StudyOID=edc.design.odm.study_oid,
            MetaDataVersionOID=version,
            EffectiveDate=edc.created[:10],
        )


def _odm_block(
    edc: Edc, plan: Layout, start: int, stop: int, parts: list[Placed]
) -> tuple[str, int]:
    """The SubjectData of subjects [start, stop): their ItemGroupData built column-wise, then
    sorted and wrapped in the StudyEventData and FormData they belong to."""
    index = {f.name: i for i, f in enumerate(edc.design.forms)}
    frames, texts, count = [], [], 0
    for part in parts:
        if not len(part.table):
            continue
        text, items = _groups(edc, part)
        texts.append(text)
        count += items
        frames.append(
            pd.DataFrame(
                {
                    "rank": part.rank,
                    "position": part.position,
                    "event": part.event,
                    "instance": part.instance,
                    "form": index[part.form.name],
                    "row": np.arange(len(part.table)),
                }
            )
        )
    if not frames:
        return "", 0
    keys = ["rank", "position", "event", "instance", "form", "row"]
    frame = pd.concat(frames, ignore_index=True).sort_values(keys, kind="stable")
    groups = pa.concat_arrays(texts).take(pa.array(frame.index.to_numpy()))
    opening = _openings(edc, plan, frame, start, stop)
    body = pc.binary_join_element_wise(opening, groups, "")
    whole = pa.ListArray.from_arrays(pa.array([0, len(body)], pa.int32()), body)
    text = pc.binary_join(whole, "")[0].as_py()
    return text + _CLOSE_FORM + _CLOSE_EVENT + _CLOSE_SUBJECT, count


def _groups(edc: Edc, part: Placed) -> tuple[pa.Array, int]:
    """One ItemGroupData element per record, and how many ItemData they hold."""
    form = part.form
    head = f'          <ItemGroupData ItemGroupOID="{_attr(form.group)}"'
    if form.repeat:
        keys = pa.array(part.repeat.astype(str))
        opening = pc.binary_join_element_wise(head + ' ItemGroupRepeatKey="', keys, '">\n', "")
    else:
        opening = pa.scalar(head + ">\n")
    lines, count = [], 0
    for item in form.items:
        text = _arrow(part.values(item)[0])
        prefix = f'            <ItemData ItemOID="{_attr(item.oid)}" Value="'
        line = pc.binary_join_element_wise(prefix, _escaped(text), '"/>\n', "")
        count += len(text) - text.null_count
        if item.missing == "isnull":
            null = f'            <ItemData ItemOID="{_attr(item.oid)}" IsNull="Yes"/>\n'
            line = pc.fill_null(line, null)
            count += text.null_count
        lines.append(pc.fill_null(line, ""))
    closing = "          </ItemGroupData>\n"
    text = pc.binary_join_element_wise(opening, *lines, closing, "")
    return text, count


def _openings(edc: Edc, plan: Layout, frame: pd.DataFrame, start: int, stop: int) -> pa.Array:
    """Per record, the tags that close the previous record's containers and open its own."""
    design = edc.design
    rank = frame["rank"].to_numpy()
    event = frame["event"].to_numpy()
    instance = frame["instance"].to_numpy()
    form = frame["form"].to_numpy()
    first = np.r_[True, np.zeros(len(frame) - 1, dtype=bool)]
    new_subject = first | np.r_[False, rank[1:] != rank[:-1]]
    new_event = (
        new_subject | np.r_[False, (event[1:] != event[:-1]) | (instance[1:] != instance[:-1])]
    )
    new_form = new_event | np.r_[False, form[1:] != form[:-1]]
    close = np.where(
        first,
        "",
        np.where(
            new_subject,
            _CLOSE_FORM + _CLOSE_EVENT + _CLOSE_SUBJECT,
            np.where(new_event, _CLOSE_FORM + _CLOSE_EVENT, np.where(new_form, _CLOSE_FORM, "")),
        ),
    )
    subjects = _subject_tags(edc, plan, start, stop)[rank - start]
    events = np.array(
        [f'      <StudyEventData StudyEventOID="{_attr(e.oid)}"' for e in design.events]
    )
    repeat = np.array([e.repeating for e in design.events])[event]
    keys = np.where(repeat, ' StudyEventRepeatKey="' + instance.astype(str) + '"', "")
    forms = np.array([f'        <FormData FormOID="{_attr(f.oid)}">\n' for f in design.forms])
    return pc.binary_join_element_wise(
        pa.array(close),
        pa.array(np.where(new_subject, subjects, "")),
        pa.array(np.where(new_event, np.char.add(np.char.add(events[event], keys), ">\n"), "")),
        pa.array(np.where(new_form, forms[form], "")),
        "",
    )


def _subject_tags(edc: Edc, plan: Layout, start: int, stop: int) -> np.ndarray:
    """SubjectData start tags (with the SiteRef) of subjects [start, stop)."""
    keys = _escaped(pa.array(plan.subjects[start:stop], pa.string()))
    tags = pc.binary_join_element_wise('    <SubjectData SubjectKey="', keys, '">\n', "")
    site = edc.design.site
    if site is not None:
        refs = {
            code: f'      <SiteRef LocationOID="{_attr(location.oid)}"/>\n'
            for code, location in site.locations.items()
        }
        located = pd.Series(plan.sites[start:stop], dtype=object).map(refs).fillna("")
        tags = pc.binary_join_element_wise(tags, pa.array(located, pa.string()), "")
    return tags.to_numpy(zero_copy_only=False)


# --- REDCap -----------------------------------------------------------------------------------


def write_redcap(
    edc: Edc, tables: dict[str, pd.DataFrame], folder: Path, block: int = BLOCK
) -> list[Path]:
    """The records export (raw codes, longitudinal), the data dictionary and the instrument
    designations, as REDCap writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    fields = pd.DataFrame(dictionary(edc), columns=list(DICTIONARY_HEADER), dtype="str")
    (folder / DICTIONARY).write_text(_php_csv(fields, header=True), encoding="utf-8")
    arm = str(edc.design.redcap.arm)
    designations = [
        (arm, event.redcap, form.name)
        for event in edc.design.events
        for form in edc.design.forms
        if event.key in form.designated
    ]
    events = pd.DataFrame(designations, columns=["arm_num", "unique_event_name", "form"])
    (folder / DESIGNATIONS).write_text(_php_csv(events, header=True), encoding="utf-8")
    plan = layout(edc, tables)
    columns = _record_columns(edc)
    with (folder / RECORDS).open("w", encoding="utf-8", newline="") as out:
        out.write(_php_csv(pd.DataFrame(columns=columns), header=True))
        for _, _, parts in plan.blocks(block):
            out.write(_php_csv(_redcap_block(edc, plan, parts, columns)))
    return [folder / RECORDS, folder / DICTIONARY, folder / DESIGNATIONS]


def _php_csv(frame: pd.DataFrame, header: bool = False) -> str:
    """CSV lines as REDCap writes them (PHP's fputcsv): a cell is quoted when it holds a
    space, a comma, a quote, a tab, a line break or a backslash."""
    lines = []
    if header:
        lines.append(",".join(_php_cells(pd.Series(frame.columns, dtype="str"))))
    if len(frame):
        cells = [_php_cells(frame[c].astype("str").fillna("")) for c in frame.columns]
        lines.append(cells[0].str.cat(cells[1:], sep=",").str.cat(sep="\n"))
    return "".join(f"{line}\n" for line in lines)


def _php_cells(values: pd.Series) -> pd.Series:
    quote = values.str.contains(r'[ ,"\t\r\n\\]', regex=True).fillna(False).astype(bool)
    return values.where(~quote, '"' + values.str.replace('"', '""', regex=False) + '"')


def field_type(edc: Edc, item: Item) -> tuple[str, str]:
    """The REDCap field type and text validation of an item (not a checkbox choice)."""
    if item.redcap is not None and item.redcap != "text":
        return item.redcap, ""
    if item.codelist is not None and item.redcap is None:
        return "radio", ""
    kind = data_type(edc, item)
    return "text", item.validation or VALIDATION.get(kind, "")


def dictionary(edc: Edc) -> list[tuple[str, ...]]:
    """Data dictionary rows: the record id first, then each form's fields in order; a
    checkbox field stands where its first choice's column is."""
    design = edc.design
    record = design.redcap.record_id
    rows = [_field(record.name, design.forms[0].name, "text", record.label)]
    for form in design.forms:
        boxes: set[str] = set()
        for item in form.items:
            if item.checkbox is None:
                rows.append(_item_field(edc, form, item))
            elif item.checkbox.field not in boxes:
                boxes.add(item.checkbox.field)
                rows.append(_checkbox_field(form, item.checkbox.field))
    return rows


def _item_field(edc: Edc, form: Form, item: Item) -> tuple[str, ...]:
    kind, validation = field_type(edc, item)
    choices = ""
    if kind in ("radio", "dropdown") and item.codelist is not None:
        terms = edc.design.codelists[item.codelist].items.items()
        choices = " | ".join(f"{code}, {decode}" for code, decode in terms)
    return _field(item.name, form.name, kind, item.label, choices, validation, item.mandatory)


def _checkbox_field(form: Form, box: str) -> tuple[str, ...]:
    """A checkbox field: one choice per item that names it, labelled as the item."""
    choices = [
        (i.checkbox.code, i.label) for i in form.items if i.checkbox and i.checkbox.field == box
    ]
    text = " | ".join(f"{code}, {label}" for code, label in choices)
    return _field(box, form.name, "checkbox", form.checkboxes[box], text)


def _field(
    name: str,
    form: str,
    kind: str,
    label: str,
    choices: str = "",
    validation: str = "",
    required: bool = False,
) -> tuple[str, ...]:
    row = dict.fromkeys(DICTIONARY_HEADER, "")
    row.update(
        {
            "Variable / Field Name": name,
            "Form Name": form,
            "Field Type": kind,
            "Field Label": label,
            "Choices, Calculations, OR Slider Labels": choices,
            "Text Validation Type OR Show Slider Number": validation,
            "Required Field?": "y" if required else "",
        }
    )
    return tuple(row.values())


def _item_column(item: Item) -> str:
    if item.checkbox is not None:
        return f"{item.checkbox.field}___{item.checkbox.code}"
    return item.name


def _record_columns(edc: Edc) -> list[str]:
    """The records export's columns: the record id, REDCap's own columns, then each form's
    fields (a checkbox as one column per choice) and its _complete status."""
    design = edc.design
    columns = [design.redcap.record_id.name, "redcap_event_name"]
    columns += ["redcap_repeat_instrument", "redcap_repeat_instance"]
    if design.site is not None:
        columns.append("redcap_data_access_group")
    for form in design.forms:
        columns += [_item_column(item) for item in form.items]
        columns.append(f"{form.name}_complete")
    return columns


_ROW_KEYS = ["rank", "position", "event", "instance", "instrument", "repeat"]


def _redcap_block(edc: Edc, plan: Layout, parts: list[Placed], columns: list[str]) -> pd.DataFrame:
    """The records rows of a block of subjects: the non-repeating forms of one event instance
    share a row; a repeating form has a row per instance (inside a repeating event the
    event's instance is the only repeat REDCap allows). Each form's cells are put into their
    rows' places: no row-wise merge."""
    keyed = [(part, _row_keys(edc, part)) for part in parts if len(part.table)]
    rows = pd.concat([keys for _, keys in keyed]).drop_duplicates().sort_values(_ROW_KEYS)
    rows = rows.reset_index(drop=True)
    where = pd.MultiIndex.from_frame(rows)
    cells = {}
    for part, keys in keyed:
        at = where.get_indexer(pd.MultiIndex.from_frame(keys))
        for item in part.form.items:
            kept = part.values(item)[1]
            if item.checkbox is not None:
                _check_ticks(kept, item, part.form, part)
            cells[_item_column(item)] = _placed_cells(len(rows), at, kept.to_numpy(dtype=object))
        cells[f"{part.form.name}_complete"] = _placed_cells(len(rows), at, "2")
    return _records(edc, plan, rows, cells, columns)


def _placed_cells(size: int, at: np.ndarray, values: object) -> np.ndarray:
    column = np.full(size, np.nan, dtype=object)
    column[at] = values
    return column


def _row_keys(edc: Edc, part: Placed) -> pd.DataFrame:
    """Which records row each record of the form goes to."""
    design = edc.design
    form = part.form
    inside = np.array([e.repeating for e in design.events], dtype=bool)[part.event]
    nested = inside & (part.repeat > 1)
    if form.repeat and nested.any():
        at = int(np.argmax(nested))
        raise UserError(
            f"REDCap cannot repeat instrument {form.name} inside the repeating event "
            f"{design.events[part.event[at]].redcap}",
            at_row(form.file, int(part.rows[at])),
            "give the form one record per instance of that event",
        )
    own = form.repeat & ~inside
    number = next(i for i, f in enumerate(design.forms) if f.name == form.name)
    return pd.DataFrame(
        {
            "rank": part.rank,
            "position": part.position,
            "event": part.event,
            "instance": part.instance,
            "instrument": np.where(own, number, -1),
            "repeat": np.where(own, part.repeat, 0),
        }
    )


def _check_ticks(values: pd.Series, item: Item, form: Form, part: Placed) -> None:
    bad = (values.notna() & ~values.isin(["0", "1"])).to_numpy(dtype=bool)
    if bad.any():
        at = int(np.argmax(bad))
        raise UserError(
            f"checkbox choice {item.name} has code '{values.iloc[at]}', not 0 or 1",
            at_row(form.file, int(part.rows[at]), item.column),
            "recode the column to the codes 1 (ticked) and 0",
        )


def _records(
    edc: Edc, plan: Layout, rows: pd.DataFrame, cells: dict[str, np.ndarray], columns: list[str]
) -> pd.DataFrame:
    """The rows with REDCap's own columns first; an unticked checkbox is 0 on every row."""
    design = edc.design
    rank = rows["rank"].to_numpy()
    event = rows["event"].to_numpy()
    instrument = rows["instrument"].to_numpy()
    repeating = np.array([e.repeating for e in design.events], dtype=bool)[event]
    names = np.array([f.name for f in design.forms] + [""], dtype=object)
    instance = np.where(
        instrument >= 0,
        rows["repeat"].to_numpy().astype(str),
        np.where(repeating, rows["instance"].to_numpy().astype(str), ""),
    )
    out = {
        design.redcap.record_id.name: plan.subjects[rank],
        "redcap_event_name": np.array([e.redcap for e in design.events], dtype=object)[event],
        "redcap_repeat_instrument": names[instrument],
        "redcap_repeat_instance": instance,
    }
    if design.site is not None:
        dags = {code: loc.dag for code, loc in design.site.locations.items()}
        out["redcap_data_access_group"] = pd.Series(plan.sites[rank]).map(dags).to_numpy()
    ticks = {_item_column(i) for f in design.forms for i in f.items if i.checkbox is not None}
    empty = np.full(len(rows), np.nan, dtype=object)
    for column in columns[len(out) :]:
        values = pd.Series(cells.get(column, empty), dtype=object)
        out[column] = (values.fillna("0") if column in ticks else values).to_numpy()
    return pd.DataFrame(out, columns=columns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("design", type=Path, help="the design file (edc.yaml)")
    parser.add_argument("--odm", type=Path, help="the ODM 1.3.2 file to write")
    parser.add_argument("--redcap", type=Path, help=f"the folder for {RECORDS}, ...")
    parser.add_argument("--block", type=int, default=BLOCK, help="records written at a time")
    args = parser.parse_args(argv)
    try:
        edc = load_design(args.design)
        tables = read_tables(edc)
        if args.odm:
            write_odm(edc, tables, args.odm, args.block)
        if args.redcap:
            write_redcap(edc, tables, args.redcap, args.block)
    except UserError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
