"""REDCap exports as source tables: one table per instrument, cut from the records CSV export
with the data dictionary (and, for longitudinal projects, the project's events, arms and
instrument designations), with lineage (file, spreadsheet row). Every value read is checked
against its field's definition, so a bad export fails here, naming the cell, rather than as
a puzzling mapping result; a lenient source keeps misfits and notes them instead."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge.converters.lineage import COLUMN, FILE, NOTES, ROW, ROWS_READ, ROWS_SKIPPED
from trialbridge.converters.redcap_labels import (
    FIXED_LABELS,
    STATUS_LABELS,
    refuse_label_header,
    refuse_label_values,
)
from trialbridge.converters.redcap_project import Project, read_export, read_project, require
from trialbridge.converters.source_cells import counted, kept_note, report_at_rows, shown_value
from trialbridge.errors import KEEP_PER_KIND, UserError, at_row, checkpoint, report
from trialbridge.study import Source

RECORD_KEYS = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
_OTHER_SYSTEM = ("redcap_survey_identifier",)  # accepted in an export, not put in tables
FIELD_TYPES = (
    *("text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse"),
    *("calc", "slider", "file", "descriptive", "sql"),
)
# the dictionary columns read: as the file export names them, and as the API does
_DICTIONARY = {
    "field": ("Variable / Field Name", "field_name"),
    "form": ("Form Name", "form_name"),
    "type": ("Field Type", "field_type"),
    "choices": ("Choices, Calculations, OR Slider Labels", "select_choices_or_calculations"),
    "validation": (
        "Text Validation Type OR Show Slider Number",
        "text_validation_type_or_show_slider_number",
    ),
}
_LABEL = ("Field Label", "field_label")  # read where present: it tells a labels export
_CHOSEN = ("radio", "dropdown", "checkbox")  # field types whose choices are codes
_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_FIX_VALUE = "correct the value in REDCap, or the field in the data dictionary"
_FIX_EXPORT = "export the records and the data dictionary of the project together, unchanged"
_MISSING_CODE = "[A-Za-z0-9._-]+"  # what REDCap's project settings take as a missing data code


@dataclass(frozen=True)
class Rule:
    """What a column's values must look like, and the words that name a misfit."""

    kind: str
    expected: str
    pattern: str | None = None
    codes: tuple[str, ...] = ()
    dated: bool = False
    fix: str = _FIX_VALUE
    passes: tuple[str, ...] = ()  # the project's missing data codes: fit every field


def _validations() -> dict[str, Rule]:
    """Text validations as a raw export writes them: every date order exports as YYYY-MM-DD."""
    date, hm = "[0-9]{4}-[0-9]{2}-[0-9]{2}", "([01][0-9]|2[0-3]):[0-5][0-9]"
    number = r"[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"
    shapes = {
        "integer": (r"[-+]?[0-9]+", "a whole number"),
        "number": (number, "a number"),
        "number_comma_decimal": (number.replace(r"\.", "[.,]"), "a number (decimal comma)"),
        "time": (hm, "a time HH:MM"),
        "time_hh_mm_ss": (hm + ":[0-5][0-9]", "a time HH:MM:SS"),
        "time_mm_ss": ("[0-5][0-9]:[0-5][0-9]", "a duration MM:SS"),
    }
    for n in range(1, 5):
        places = f"a number with {n} decimal place{'s' if n > 1 else ''}"
        shapes[f"number_{n}dp"] = (rf"-?[0-9]+\.[0-9]{{{n}}}", places)
        shapes[f"number_{n}dp_comma_decimal"] = (rf"-?[0-9]+[.,][0-9]{{{n}}}", places)
    rules = {name: Rule(f"validation {name}", text, p) for name, (p, text) in shapes.items()}
    dated = {
        "date": (date, "a real date YYYY-MM-DD"),
        "datetime": (f"{date} {hm}", "a real date and time YYYY-MM-DD HH:MM"),
        "datetime_seconds": (f"{date} {hm}:[0-5][0-9]", "a real date and time YYYY-MM-DD HH:MM:SS"),
    }
    for kind, (pattern, text) in dated.items():
        for order in ("ymd", "dmy", "mdy"):
            name = f"{kind}_{order}"
            rules[name] = Rule(f"validation {name}", text, pattern, dated=True)
        rules[kind] = rules[f"{kind}_ymd"]  # names of old REDCap versions
    rules["int"], rules["float"] = rules["integer"], rules["number"]
    return rules


VALIDATIONS = _validations()
_BINARY = ("0", "1")
_STATUS = Rule("form status", "0, 1 or 2", codes=("0", "1", "2"))
_INSTANCE = Rule("repeat instance", "a whole number from 1", "[1-9][0-9]*", fix=_FIX_EXPORT)


def checkbox_column(field: str, code: str) -> str:
    """The export column of a checkbox choice, as REDCap names it: '-' and '.' become '_',
    letters are lowercased, anything else outside a-z, 0-9 and '_' is dropped."""
    code = code.replace("-", "_").replace(".", "_").lower()
    return f"{field}___{re.sub('[^a-z0-9_]', '', code)}"


@dataclass(frozen=True)
class Field:
    """One data dictionary row; `missing`, the project's missing data codes."""

    name: str
    form: str
    type: str
    validation: str
    codes: tuple[str, ...]
    labels: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        """Its columns in a records export: none for a descriptive field, one per choice for
        a checkbox, then one per missing data code (REDCap ticks the code there)."""
        if self.type == "descriptive":
            return []
        if self.type == "checkbox":
            ticks = (checkbox_column(self.name, code) for code in self.codes + self.missing)
            return list(dict.fromkeys(ticks))
        return [self.name]

    def rule(self) -> Rule | None:
        """What its values must be; None where the dictionary says nothing checkable. A
        missing data code fits any field but a checkbox (which has its own column for it)."""
        if self.type == "checkbox":
            return Rule(self.type, "0 or 1", codes=_BINARY)
        if self.type == "text":
            rule = VALIDATIONS.get(self.validation)
        elif self.type in ("yesno", "truefalse"):
            rule = Rule(self.type, "0 or 1", codes=_BINARY)
        elif self.type in ("radio", "dropdown"):
            shown = ", ".join(shown_value(c) for c in self.codes[:10])
            shown += ", ..." if len(self.codes) > 10 else ""
            rule = Rule(self.type, f"one of its choice codes {shown}", codes=self.codes)
        else:
            return None
        return dataclasses.replace(rule, passes=self.missing) if rule else None

    def choices(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Per column, the codes a raw export writes and the labels a labels export would."""
        if self.type in ("radio", "dropdown"):
            return {self.name: (self.codes, self.labels)}
        if self.type in FIXED_LABELS:
            return dict.fromkeys(self.columns(), FIXED_LABELS[self.type])
        return {}


@dataclass(frozen=True)
class Dictionary:
    fields: list[Field]
    shown: str
    first_label: str = ""  # the record id's label, when the dictionary has labels

    @property
    def record_id(self) -> str:
        """REDCap's record id is the first field of the project."""
        return self.fields[0].name

    @property
    def forms(self) -> list[str]:
        return list(dict.fromkeys(field.form for field in self.fields))


def read_redcap(root: Path, sources: list[Source]) -> dict[str, pd.DataFrame]:
    """Tables for REDCap sources that share one records export (same file, dictionary, events)."""
    first = sources[0]
    require(root, first.file, first, "records export", "file")
    dictionary = _read_dictionary(root, first, missing_codes(sources))
    for source in sources:
        _check_instrument(source, dictionary)
    project = read_project(root, first, dictionary.forms) if first.events else None
    checkpoint()  # the records are read through the dictionary and design: stop at theirs
    path, shown = root / first.file, first.file
    refuse_label_header(path, shown, first.encoding, dictionary.record_id, dictionary.first_label)
    records = read_export(root, shown, first, "records export", "file", first.missing)
    _check_records(records, dictionary, project, shown)
    holding = _holding(records, dictionary)
    tables: dict[tuple[str, bool], pd.DataFrame] = {}
    result = {}
    for source in sources:  # a second source on the same instrument gets its own copy
        key = (source.instrument or "", source.lenient)
        if key in tables:
            result[source.name] = tables[key].copy()
        else:
            table = _table(records, dictionary, project, key, shown, holding)
            tables[key] = result[source.name] = table
    return result


def missing_codes(sources: list[Source]) -> tuple[str, ...]:
    """The project's missing data codes, as its settings list them ('NI, No information |
    UNK, Unknown', or a code a line): the code of each is the text before its first comma."""
    given = {source.missing_codes or "" for source in sources}
    if len(given) > 1:
        names = ", ".join(f"'{shown_value(source.name)}'" for source in sources)
        raise UserError(
            f"sources {names} read one REDCap export with different 'missing_codes'",
            "study.yaml",
            "give every source of the export the project's missing data codes",
        )
    parts = re.split(r"[|\r\n]", given.pop())
    codes = tuple(part.split(",", 1)[0].strip() for part in parts if part.strip())
    bad = next((code for code in codes if not re.fullmatch(_MISSING_CODE, code)), None)
    if bad is not None:
        raise UserError(
            f"missing data code '{shown_value(bad)}' of source '{sources[0].name}' holds a "
            "character other than letters, digits, '.', '-' and '_'",
            "study.yaml",
            "set 'missing_codes' as the project's settings list them, e.g. "
            "'NI, No information | UNK, Unknown'",
        )
    blanked = next((code for code in codes if code in sources[0].missing), None)
    if blanked is not None:
        raise UserError(
            f"missing data code '{shown_value(blanked)}' of source '{sources[0].name}' is in "
            "its 'missing' list too, so it would be read as an empty value",
            "study.yaml",
            f"take '{shown_value(blanked)}' out of 'missing'",
        )
    return codes


def _read_dictionary(root: Path, source: Source, missing: tuple[str, ...]) -> Dictionary:
    shown = source.dictionary or ""
    frame = read_export(root, shown, source, "data dictionary", "dictionary", [""])
    names = {key: _dictionary_column(frame, key, shown) for key in _DICTIONARY}
    table = frame[[*names.values(), ROW]].set_axis([*names, ROW], axis=1).fillna("")
    if table.empty:
        raise UserError("the data dictionary lists no fields", shown, "export it from REDCap")
    _check_dictionary(table, shown)
    fields = [  # one per dictionary row: metadata, not data
        Field(r.field, r.form, r.type, r.validation, *_choices(r.type, r.choices), missing)
        for r in table.itertuples()
    ]
    label = next((name for name in _LABEL if name in frame.columns), None)
    first_label = "" if label is None else str(frame[label].fillna("").iloc[0]).strip()
    return Dictionary(fields, shown, first_label)


def _dictionary_column(frame: pd.DataFrame, key: str, shown: str) -> str:
    for name in _DICTIONARY[key]:
        if name in frame.columns:
            return name
    raise UserError(
        f"data dictionary has no column '{_DICTIONARY[key][0]}'",
        at_row(shown, 1),
        "export the data dictionary from REDCap (Project Setup, Data Dictionary) unchanged",
    )


def _choices(kind: str, choices: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A chosen field's codes and their labels: '1, Male | 2, Female' -> ('1', '2'),
    ('Male', 'Female'); each choice's code is the text before its first comma."""
    if kind not in _CHOSEN:
        return (), ()
    pairs = [choice.split(",", 1) for choice in choices.split("|")]
    pairs = [pair for pair in pairs if pair[0].strip()]
    labels = tuple(pair[1].strip() if len(pair) > 1 else "" for pair in pairs)
    return tuple(pair[0].strip() for pair in pairs), labels


def _check_dictionary(table: pd.DataFrame, shown: str) -> None:
    header = dict(zip(_DICTIONARY, (names[0] for names in _DICTIONARY.values()), strict=True))
    blank = table["field"].eq("")
    if blank.any():
        row = int(table[ROW][blank].iloc[0])
        raise UserError("a field has no name", at_row(shown, row, header["field"]), "name it")
    twice = table["field"].duplicated()
    if twice.any():
        row, name = int(table[ROW][twice].iloc[0]), table["field"][twice].iloc[0]
        raise UserError(
            f"field '{shown_value(name)}' appears twice in the data dictionary",
            at_row(shown, row, header["field"]),
            "give every field its own name",
        )
    unknown = ~table["type"].isin(FIELD_TYPES)
    if unknown.any():
        at = table[unknown].iloc[0]
        raise UserError(
            f"field type '{shown_value(at['type'])}' of field {shown_value(at['field'])} is "
            "not a REDCap field type",
            at_row(shown, int(at[ROW]), header["type"]),
            f"use one of: {', '.join(FIELD_TYPES)}",
        )
    formless = table["form"].eq("")
    if formless.any():
        at = table[formless].iloc[0]
        raise UserError(
            f"field {shown_value(at['field'])} has no form name",
            at_row(shown, int(at[ROW]), header["form"]),
            "name the instrument the field belongs to",
        )
    for at in table[table["type"].isin(_CHOSEN)].itertuples():  # metadata: a few rows
        _check_choices(at.field, at.type, at.choices, at_row(shown, at[-1], header["choices"]))


def _check_choices(field: str, kind: str, choices: str, where: str) -> None:
    """A radio, dropdown or checkbox field needs its choices, each code once."""
    codes = _choices(kind, choices)[0]
    if not codes:
        raise UserError(
            f"field {shown_value(field)} ({kind}) has no choices",
            where,
            "give its choices as 'code, label | code, label', e.g. '1, Yes | 0, No'",
        )
    twice = next((code for i, code in enumerate(codes) if code in codes[:i]), None)
    if twice is not None:
        raise UserError(
            f"choice code '{shown_value(twice)}' appears twice in field {shown_value(field)}",
            where,
            "give every choice of the field its own code",
        )


def _check_instrument(source: Source, dictionary: Dictionary) -> None:
    if source.instrument in dictionary.forms:
        return
    raise UserError(
        f"instrument '{shown_value(source.instrument)}' of source '{shown_value(source.name)}' "
        "is not a form of the "
        "data dictionary",
        dictionary.shown,
        f"{_suggest(source.instrument or '', dictionary.forms)} as 'instrument' in study.yaml",
    )


def _suggest(name: str, forms: list[str]) -> str:
    close = difflib.get_close_matches(name, forms, n=1)
    if close:
        return f"did you mean '{shown_value(close[0])}'? set it"
    shown = ", ".join(shown_value(form) for form in forms[:20])
    shown += ", ..." if len(forms) > 20 else ""
    return f"set one of {shown}"


def _check_records(
    records: pd.DataFrame, dictionary: Dictionary, project: Project | None, shown: str
) -> None:
    record_id = dictionary.record_id
    if record_id not in records.columns:
        raise UserError(
            f"the records export has no column for the record id field '{shown_value(record_id)}'",
            at_row(shown, 1),
            "export the records with their record id; it is the first field of the dictionary",
        )
    known = _known_columns(dictionary)
    for name in records.columns.drop(ROW):
        if name not in known:  # a header problem: one per column, all of them
            report(
                UserError(
                    f"REDCap field '{name}' is not in the data dictionary",
                    at_row(shown, 1, name),
                    _FIX_EXPORT,
                    file=shown,
                    row=1,
                    column=name,
                )
            )
    checkpoint()  # the checks below read the header's columns: stop at its problems
    events = project.known if project is not None else pd.Series([], dtype=str)
    labels = project.labels if project is not None else events
    refuse_label_values(records, shown, _choices_in(records, dictionary), events, labels)
    _report_bad(records, record_id, records[record_id].isna(), "the record id is empty", shown)
    if project is not None:
        _check_events(records, project, shown)
    if "redcap_repeat_instrument" in records.columns:
        repeat = records["redcap_repeat_instrument"]
        bad = repeat.notna() & ~repeat.isin(dictionary.forms)
        what = "repeating instrument '{}' is not a form of the data dictionary"
        _report_bad(records, "redcap_repeat_instrument", bad, what, shown)


def _known_columns(dictionary: Dictionary) -> set[str]:
    forms = dictionary.forms
    return {
        *RECORD_KEYS,
        *_OTHER_SYSTEM,
        *(name for field in dictionary.fields for name in field.columns()),
        *(f"{form}_complete" for form in forms),
        *(f"{form}_timestamp" for form in forms),  # survey completion times
    }


def _choices_in(
    records: pd.DataFrame, dictionary: Dictionary
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Per column of the export with choices (in the export's order), its codes and their
    labels."""
    status = (("0", "1", "2"), STATUS_LABELS)
    choices = {f"{form}_complete": status for form in dictionary.forms}
    for field in dictionary.fields:
        choices |= field.choices()
    return {name: choices[name] for name in records.columns if name in choices}


def _check_events(records: pd.DataFrame, project: Project, shown: str) -> None:
    if "redcap_event_name" not in records.columns:
        raise UserError(
            "the records export has no redcap_event_name column, yet 'events' is set",
            at_row(shown, 1),
            "export the records of the longitudinal project again, or drop 'events'",
        )
    event = records["redcap_event_name"]
    bad = event.isna() | ~event.isin(project.known)
    what = f"event '{{}}' is not in the {project.listed_in}"
    _report_bad(records, "redcap_event_name", bad, what, shown)


def _report_bad(
    frame: pd.DataFrame, column: str, bad: pd.Series | np.ndarray, what: str, shown: str
) -> None:
    """Report every flagged row, naming its value where `what` has a slot for it."""
    flags = np.asarray(bad, dtype=bool)
    if not flags.any():
        return
    values = frame[column].to_numpy()[flags][:KEEP_PER_KIND]
    texts = [what.format("" if pd.isna(value) else shown_value(value)) for value in values]
    rows = frame[ROW].to_numpy()[flags]
    report_at_rows(shown, rows, texts, _FIX_EXPORT, kind=what, column=column)


def _holding(records: pd.DataFrame, dictionary: Dictionary) -> np.ndarray:
    """Rows that fill a field of any instrument (a checkbox: ticked), the record id aside."""
    fields = [f for f in dictionary.fields if f.name != dictionary.record_id]
    return _filled(records, [f for f in fields if all(c in records for c in f.columns())])


def _filled(records: pd.DataFrame, fields: list[Field]) -> np.ndarray:
    ticks = [name for f in fields if f.type == "checkbox" for name in f.columns()]
    plain = [name for f in fields if f.type != "checkbox" for name in f.columns()]
    filled = records[plain].notna().any(axis=1) | records[ticks].eq("1").any(axis=1)
    return filled.to_numpy(dtype=bool)


def _table(
    records: pd.DataFrame,
    dictionary: Dictionary,
    project: Project | None,
    read: tuple[str, bool],
    shown: str,
    holding: np.ndarray,
) -> pd.DataFrame:
    """The instrument's rows: key columns (with its event's, from the project's design), its
    fields in dictionary order, its status; with the rows of the export it left out counted
    by reason, and a lenient read's kept misfits noted."""
    instrument, lenient = read
    record_id = dictionary.record_id
    fields = [f for f in dictionary.fields if f.form == instrument and f.name != record_id]
    own = [name for field in fields for name in field.columns()]
    coded = {checkbox_column(f.name, code) for f in fields for code in f.missing}
    for name in own:
        if name not in records.columns:
            raise UserError(
                f"REDCap field '{shown_value(name)}' of instrument '{shown_value(instrument)}' "
                "is not in the records export",
                at_row(shown, 1),
                "export every field of the instrument"
                + (", or set 'missing_codes' as the project has them" if name in coded else ""),
            )
    complete = f"{instrument}_complete"
    keys = [name for name in RECORD_KEYS if name in records.columns]
    status = [complete] if complete in records.columns else []
    keep = _rows(records, fields, instrument, project, dictionary.forms, shown)
    table = records.loc[keep, [record_id, *keys, *own, *status, ROW]].reset_index(drop=True)
    notes = _check_values(table, fields, status, shown, lenient)
    if project is not None:
        _insert_event_columns(table, project)
    table.insert(len(table.columns) - 1, FILE, shown)
    table[COLUMN] = pd.Series(pd.NA, index=table.index, dtype="str")
    skipped = dict(records.attrs[ROWS_SKIPPED])
    skipped["rows of other instruments"] = int((~keep & holding).sum())
    skipped["rows holding no instrument's values"] = int((~keep & ~holding).sum())
    counted(table, records.attrs[ROWS_READ], skipped)
    if notes:
        table.attrs[NOTES] = notes
    return table


def _insert_event_columns(table: pd.DataFrame, project: Project) -> None:
    """Each row's event's name, arm and offsets, right after its unique name."""
    at = table.columns.get_loc("redcap_event_name") + 1
    columns = project.columns.reindex(table["redcap_event_name"]).reset_index(drop=True)
    for offset, name in enumerate(columns.columns):
        table.insert(at + offset, name, columns[name])


def _rows(
    records: pd.DataFrame,
    fields: list[Field],
    instrument: str,
    project: Project | None,
    forms: list[str],
    shown: str,
) -> np.ndarray:
    """Rows of a repeating instrument are marked with it; other rows hold the instrument when
    their event is designated for it and one of its fields is filled (a checkbox: ticked),
    or, for an instrument of the record id alone, always. A row that fills the instrument's
    fields but is not its own is an error: its values would be lost (unless its event or
    repeating instrument is itself unknown, which is reported already)."""
    filled = _filled(records, fields)
    designated = np.ones(len(records), dtype=bool)
    known = np.ones(len(records), dtype=bool)
    if project is not None:
        event = records["redcap_event_name"]
        designated = event.isin(project.holding(instrument)).to_numpy(dtype=bool)
        known = event.isin(project.known).to_numpy(dtype=bool)
    if "redcap_repeat_instrument" in records.columns:
        repeat = records["redcap_repeat_instrument"]
        mine, plain = repeat.eq(instrument).to_numpy(dtype=bool), repeat.isna().to_numpy(bool)
        known = known & (plain | repeat.isin(forms).to_numpy(dtype=bool))
    else:
        mine, plain = np.zeros(len(records), dtype=bool), np.ones(len(records), dtype=bool)
    only_id = not any(field.columns() for field in fields)
    keep = mine | (plain & (filled | only_id) & designated)
    stray = filled & known
    named = shown_value(instrument).replace("{", "{{").replace("}", "}}")  # a format template
    what = f"event '{{}}' is not designated for instrument '{named}', yet the row fills its fields"
    _report_stray(records, "redcap_event_name", stray & plain & ~designated, what, shown)
    what = f"the row is one of repeating instrument '{{}}', yet it fills fields of '{named}'"
    _report_stray(records, "redcap_repeat_instrument", stray & ~plain & ~mine, what, shown)
    return keep


def _report_stray(
    records: pd.DataFrame, column: str, stray: np.ndarray, what: str, shown: str
) -> None:
    if not stray.any():
        return
    values = records[column].to_numpy()[stray][:KEEP_PER_KIND]
    report_at_rows(
        shown,
        records[ROW].to_numpy()[stray],
        [what.format(shown_value(value)) for value in values],
        "export the records, the data dictionary and the instrument designations of one "
        "project together; in REDCap, designate the instrument for the event or clear the values",
        kind=what,
        column=column,
    )


def _check_values(
    table: pd.DataFrame, fields: list[Field], status: list[str], shown: str, lenient: bool
) -> list[str]:
    """Every value against its field: all misfits of a column reported at once; or, read
    leniently, kept, and returned as one note per column (a repeat instance is the record's
    key: never lenient)."""
    notes = []
    checks = [(name, field.rule()) for field in fields for name in field.columns()]
    checks += [(name, _STATUS) for name in status]
    if "redcap_repeat_instance" in table.columns:
        checks.append(("redcap_repeat_instance", _INSTANCE))
    for name, rule in checks:
        if rule is None:
            continue
        bad = _misfits(table[name], rule)
        if not bad.any():
            continue
        if lenient and rule is not _INSTANCE:
            notes.append(_kept(table, name, rule, bad, shown))
            continue
        kind = f"value of field {name} ({rule.kind}) is not {rule.expected}"
        values = table[name].to_numpy()[bad][:KEEP_PER_KIND]
        texts = [
            f"value '{shown_value(value)}' of field {name} ({rule.kind}) is not {rule.expected}"
            for value in values
        ]
        report_at_rows(shown, table[ROW].to_numpy()[bad], texts, rule.fix, kind=kind, column=name)
    return notes


def _kept(table: pd.DataFrame, name: str, rule: Rule, bad: np.ndarray, shown: str) -> str:
    """A column's kept misfits in one line, so the reconciliation shows what was let pass."""
    values = pd.unique(table[name].to_numpy()[bad]).tolist()
    first = at_row(shown, int(table[ROW].to_numpy()[bad][0]), name)
    return kept_note(
        f"of field {name} ({rule.kind}), not {rule.expected}", int(bad.sum()), values, first
    )


def _misfits(values: pd.Series, rule: Rule) -> np.ndarray:
    """Flags for filled values that do not fit the rule. Tested once per distinct value: a
    column of a hundred thousand visit dates holds a few hundred."""
    distinct = pd.Series(values.dropna().unique(), dtype=values.dtype)
    fits = distinct.str.fullmatch(rule.pattern) if rule.pattern else distinct.isin(rule.codes)
    fits = fits.to_numpy(dtype=bool, copy=True)
    if rule.dated:
        fits[fits] = _real_dates(distinct[fits])
    if rule.passes:
        fits |= distinct.isin(rule.passes).to_numpy(dtype=bool)
    if fits.all():
        return np.zeros(len(values), dtype=bool)
    return values.isin(distinct[~fits]).to_numpy(dtype=bool)


def _real_dates(values: pd.Series) -> np.ndarray:
    """Whether values that start YYYY-MM-DD name a day of the calendar (not 2021-02-29)."""
    year, month, day = (
        values.str.slice(start, stop).astype("float64").to_numpy()
        for start, stop in ((0, 4), (5, 7), (8, 10))
    )
    real_month = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS[np.where(real_month, month, 1).astype(int) - 1] + ((month == 2) & leap)
    return real_month & (day >= 1) & (day <= last)
