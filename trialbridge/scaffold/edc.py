"""The forms inside EDC exports, for init: each ItemGroupDef of a CDISC ODM file and each
instrument of a REDCap project becomes a source. Their metadata says more than a CSV header:
each item's question or field label (read for guessing and units), and the visits' names
(ODM StudyEventDef names, REDCap event names) that VISIT is recoded to."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from lxml import etree

from trialbridge.converters.csv_text import read_csv_table
from trialbridge.converters.odm import read_odm
from trialbridge.converters.odm_metadata import KEYS, NAMESPACE
from trialbridge.converters.odm_stream import check_root, syntax_error
from trialbridge.converters.redcap import read_redcap
from trialbridge.converters.redcap_project import HEADERS
from trialbridge.errors import UserError
from trialbridge.scaffold.guess import tokens, unique_names
from trialbridge.scaffold.profile import ItemText
from trialbridge.study import Source
from trialbridge.xml_safety import SAFE, refuse_doctype

_NS = f"{{{NAMESPACE}}}"
_DEFINITIONS = {
    _NS + t for t in ("StudyEventDef", "ItemGroupDef", "ItemDef", "MeasurementUnit", "CodeList")
}
# the ODM keys a form's rows carry that are no item and play no role (subject, site, visit)
ODM_KEYS = frozenset(KEYS) - {"SubjectKey", "SiteRef", "StudyEventOID"}
REDCAP_KEYS = frozenset({"redcap_repeat_instrument", "redcap_repeat_instance"})
_DICTIONARY = (("Variable / Field Name", "Form Name"), ("field_name", "form_name"))
_LABEL = ("Field Label", "field_label")
_CHOICES = ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations")
# the choices REDCap gives these field types without listing them
_IMPLIED = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}
_ARM = re.compile(r"_arm_\d+$")


@dataclass
class Export:
    """The sources one EDC export gives (files relative to the raw folder), the files it is
    made of, and what its metadata says of them."""

    sources: list[Source]
    files: list[Path]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # source: the form's OID and name
    items: dict[str, ItemText] = field(default_factory=dict)  # column: what the metadata says
    keys: frozenset[str] = frozenset()  # columns that are neither items nor roles
    visits: dict[str, str] = field(default_factory=dict)  # visit code: its name


def edc_exports(raw: Path, files: list[Path]) -> list[Export]:
    """The ODM and REDCap exports among `files` (XML files are ODM; a REDCap project is found
    by its data dictionary's header), each read as its sources."""
    found = [_odm(raw, path) for path in files if path.suffix.lower() == ".xml"]
    dictionaries = [p for p in files if p.suffix.lower() == ".csv" and _is_dictionary(p)]
    found += [_redcap(raw, path, files) for path in dictionaries]
    return found


def _odm(raw: Path, path: Path) -> Export:
    shown = path.name
    refuse_doctype(path, shown)
    check_root(path, shown)
    definitions = _definitions(path, shown)
    groups = [d for d in definitions if d.tag == _NS + "ItemGroupDef"]
    if not groups:
        raise UserError(
            "the ODM export defines no ItemGroupDef",
            shown,
            "export the study's metadata with its data (ODM with MetaDataVersion)",
        )
    names = unique_names([_words(g.get("Name") or g.get("OID", "")) for g in groups])
    sources = [
        Source(name=name, file=shown, item_group=g.get("OID"))
        for name, g in zip(names, groups, strict=True)
    ]
    export = Export(sources, [path], keys=ODM_KEYS)
    export.tables = read_odm(raw, sources)
    export.titles = {
        s.name: f"{g.get('OID', '')} {g.get('Name', '')}"
        for s, g in zip(sources, groups, strict=True)
    }
    units = {
        d.get("OID", ""): d.findtext(f"{_NS}Symbol/{_NS}TranslatedText") or ""
        for d in definitions
        if d.tag == _NS + "MeasurementUnit"
    }
    codelists = {d.get("OID", ""): _decodes(d) for d in definitions if d.tag == _NS + "CodeList"}
    for item in (d for d in definitions if d.tag == _NS + "ItemDef"):
        ref = item.find(f"{_NS}CodeListRef")
        legend = codelists.get(ref.get("CodeListOID", "")) if ref is not None else None
        name = item.get("Name") or item.get("OID", "")
        export.items[name] = ItemText(_question(item, units), legend or ())
    export.visits = {
        d.get("OID", ""): d.get("Name", d.get("OID", "")).upper()
        for d in definitions
        if d.tag == _NS + "StudyEventDef" and d.get("Type") != "Common"
    }
    return export


def _definitions(path: Path, shown: str) -> list[etree._Element]:
    """The MetaDataVersion's definitions init reads, up to the first ClinicalData (the data
    after it are read by the ODM reader)."""
    found: list[etree._Element] = []
    parsed = etree.iterparse(str(path), events=("start", "end"), **SAFE)
    try:
        for event, element in parsed:
            if event == "start" and element.tag == _NS + "ClinicalData":
                break
            if event == "end" and element.tag in _DEFINITIONS:
                found.append(element)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, path, shown) from None
    return found


def _question(item: etree._Element, units: dict[str, str]) -> str:
    """The item's question, with its unit in parentheses when its metadata names one."""
    text = " ".join((item.findtext(f"{_NS}Question/{_NS}TranslatedText") or "").split())
    ref = item.find(f"{_NS}MeasurementUnitRef")
    unit = units.get(ref.get("MeasurementUnitOID", "")) if ref is not None else None
    return f"{text} ({unit})" if unit and not text.endswith(")") else text


def _decodes(codelist: etree._Element) -> tuple[tuple[str, str], ...]:
    """A codelist's coded values with their decodes (an EnumeratedItem has none)."""
    return tuple(
        (term.get("CodedValue", ""), term.findtext(f"{_NS}Decode/{_NS}TranslatedText") or "")
        for term in codelist
        if term.tag == _NS + "CodeListItem"
    )


def _choices(text: str) -> tuple[tuple[str, str], ...]:
    """A REDCap field's choices ('1, Male | 2, Female') as codes and labels."""
    pairs = (part.split(",", 1) for part in text.split("|") if "," in part)
    return tuple((code.strip(), label.strip()) for code, label in pairs)


def _read(path: Path) -> pd.DataFrame:
    """A REDCap metadata export as text ('' for empty), read as the REDCap reader reads it
    (a bad encoding or a short row is one line, not a crash)."""
    return read_csv_table(path, path.name, text_only=False).fillna("")


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(io.StringIO(handle.readline())), [])


def _is_dictionary(path: Path) -> bool:
    header = set(_header(path))
    return any(set(names) <= header for names in _DICTIONARY)


def _redcap(raw: Path, dictionary: Path, files: list[Path]) -> Export:
    table = _read(dictionary)
    field_name, form_name = next(n for n in _DICTIONARY if set(n) <= set(table.columns))
    if table.empty:
        raise UserError("the data dictionary lists no fields", dictionary.name, "export it again")
    record_id = table[field_name].iloc[0]
    csvs = [p for p in files if p.suffix.lower() == ".csv" and p != dictionary]
    records = [p for p in csvs if _header(p)[:1] == [record_id]]
    if not records:
        raise UserError(
            f"no records export beside the REDCap data dictionary (a CSV whose first column is "
            f"'{record_id}')",
            dictionary.name,
            "add the project's records export (CSV, raw data) to the raw folder",
        )
    design = [p for p in csvs if _design_kind(p) is not None]
    events: str | list[str] | None = [p.name for p in design] or None
    if events is not None and len(events) == 1:
        events = events[0]
    label = next((c for c in _LABEL if c in table.columns), None)
    forms = list(dict.fromkeys(table[form_name]))
    sources = [
        Source(
            name=form,
            file=records[0].name,
            format="redcap",
            instrument=form,
            dictionary=dictionary.name,
            events=events,
        )
        for form in forms
    ]
    export = Export(sources, [records[0], dictionary, *design], keys=REDCAP_KEYS)
    export.keys |= {f"{form}_complete" for form in forms}
    export.tables = read_redcap(raw, sources)
    export.titles = {form: form for form in forms}
    choices = next((c for c in _CHOICES if c in table.columns), None)
    for row in table.to_dict("records"):
        text = row[label].strip() if label else ""
        kind = row.get("Field Type", row.get("field_type", ""))
        legend = _IMPLIED.get(kind) or (
            _choices(row[choices]) if choices and kind in ("radio", "dropdown") else ()
        )
        export.items[row[field_name]] = ItemText(text, legend)
    export.visits = _event_names(design, export.tables)
    return export


def _design_kind(path: Path) -> str | None:
    header = set(_header(path))
    return next((kind for kind, names in HEADERS.items() if set(names) <= header), None)


def _event_names(design: list[Path], tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Each unique event name's event name: from the events export, else read back from the
    unique name REDCap derived from it (screening_arm_1: SCREENING)."""
    named: dict[str, str] = {}
    for path in design:
        frame = _read(path)
        if {"event_name", "unique_event_name"} <= set(frame.columns):
            named |= dict(zip(frame["unique_event_name"], frame["event_name"], strict=True))
    codes = {
        str(code)
        for table in tables.values()
        if "redcap_event_name" in table.columns
        for code in table["redcap_event_name"].dropna().unique()
    }
    return {
        code: named.get(code, " ".join(tokens(_ARM.sub("", code)))).upper()
        for code in sorted(codes)
    }


def _words(text: str) -> str:
    return "_".join(tokens(text)) or "form"
