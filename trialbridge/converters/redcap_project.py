"""A longitudinal REDCap project's design, from its own exports: the instrument designations
(which forms each event holds), the events (their names, arms and day offsets) and the arms.
`events:` lists any of them; each file is known by its header, so the order does not matter
and the columns REDCap adds (event_id, custom_event_label, ...) are welcome. The event's
name, arm and offsets become columns of every instrument's table: a spec maps VISIT from the
name a user sees, not from the unique name REDCap derived from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from trialbridge.converters.csv_text import read_csv_table
from trialbridge.converters.lineage import ROW
from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError, at_row
from trialbridge.study import Source

DESIGNATIONS, EVENTS, ARMS = "instrument designations", "events export", "arms export"
# each export's columns, as REDCap writes them (in any order, beside any others)
HEADERS = {
    DESIGNATIONS: ("arm_num", "unique_event_name", "form"),
    EVENTS: ("event_name", "arm_num", "unique_event_name"),
    ARMS: ("arm_num", "name"),
}
# table column <- events export column; the first two are in every events export
EVENT_COLUMNS = {
    "redcap_event_label": "event_name",
    "redcap_arm_num": "arm_num",
    "redcap_arm_name": "",  # from the arms export
    "redcap_day_offset": "day_offset",
    "redcap_offset_min": "offset_min",
    "redcap_offset_max": "offset_max",
    "redcap_custom_event_label": "custom_event_label",
}
_OFFSETS = ("day_offset", "offset_min", "offset_max")
_NUMBER = r"[-+]?[0-9]+(\.[0-9]*)?"
_FIX = {
    DESIGNATIONS: "export the instrument designations and the data dictionary of the project "
    "together, unchanged",
    EVENTS: "download the events from REDCap unchanged (Define My Events; API: content=event)",
    ARMS: "download the arms from REDCap unchanged (Define My Events; API: content=arm)",
}
_FIX_TOGETHER = "download the events, arms and instrument designations of one project, unchanged"


def require(root: Path, shown: str, source: Source, what: str, option: str) -> Path:
    path = root / shown
    if not path.is_file():
        raise UserError(
            f"REDCap {what} of source '{source.name}' not found",
            shown,
            f"check '{option}' in study.yaml",
        )
    return path


def read_export(
    root: Path, shown: str, source: Source, what: str, option: str, missing: Sequence[str]
) -> pd.DataFrame:
    """All cells as trimmed text (missing markers -> NA) and ROW, the spreadsheet row (header
    1); blank lines are dropped once they have been counted."""
    path = require(root, shown, source, what, option)
    return read_csv_table(
        path,
        shown,
        encoding=source.encoding,
        missing=missing,
        fix_empty="export it again from REDCap, with its header row",
        text_only=option == "file",  # labels of the design and dictionary may hold line breaks
    )


class Export(NamedTuple):
    shown: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Project:
    """What the records' events must be, which of them hold each form, and the columns each
    event adds to a table (indexed by unique event name)."""

    known: pd.Series
    listed_in: str
    designations: pd.DataFrame | None  # None: every event may hold every form
    columns: pd.DataFrame
    labels: pd.Series  # the events' names, as a labels export writes them

    def holding(self, form: str) -> pd.Series:
        """The unique names of the events designated for `form`."""
        if self.designations is None:
            return self.known
        return self.designations.loc[self.designations["form"] == form, "unique_event_name"]


def read_project(root: Path, source: Source, forms: list[str]) -> Project:
    """The project exports `events` lists, each known by its header, checked together."""
    files = [source.events] if isinstance(source.events, str) else list(source.events or [])
    found: dict[str, Export] = {}
    for shown in files:
        export = Export(shown, read_export(root, shown, source, "project export", "events", [""]))
        kind = _kind(export)
        if kind in found:
            raise UserError(
                f"a second {kind} file in 'events' (the first is {found[kind].shown})",
                at_row(shown, 1),
                f"give 'events' of source '{source.name}' one file of each kind",
            )
        _CHECKS[kind](export, forms)
        found[kind] = export
    if ARMS in found and not {EVENTS, DESIGNATIONS} & found.keys():
        raise UserError(
            "the arms export is given without the events export or the instrument designations, "
            "which say each event's arm",
            found[ARMS].shown,
            "add one of them to 'events' in study.yaml",
        )
    return _project(found)


def _kind(export: Export) -> str:
    for kind, names in HEADERS.items():
        if set(names) <= set(export.frame.columns):
            return kind
    raise UserError(
        "the header is none of the REDCap project exports 'events' takes: the instrument "
        "designations (arm_num, unique_event_name, form), the events (event_name, arm_num, "
        "unique_event_name) or the arms (arm_num, name)",
        at_row(export.shown, 1),
        "download it from REDCap unchanged (Define My Events: arms or events; Designate "
        "Instruments: instrument-event mappings; API: content=arm, event or formEventMapping)",
    )


def _check_designations(export: Export, forms: list[str]) -> None:
    frame = export.frame
    nameless = frame["unique_event_name"].isna() & frame["form"].notna()
    what = "form '{}' is designated for an event with no name"
    _refuse(export, nameless, "unique_event_name", what, _FIX[DESIGNATIONS], "form")
    unknown = frame["form"].notna() & ~frame["form"].isin(forms)
    what = "form '{}' is not a form of the data dictionary"
    _refuse(export, unknown, "form", what, _FIX[DESIGNATIONS], "form")


def _check_events(export: Export, forms: list[str]) -> None:
    """Each event named once, in an arm; its offsets numbers, written as one text whichever
    way they were ('7.0' -> '7')."""
    frame, fix = export.frame, _FIX[EVENTS]
    name = frame["unique_event_name"]
    _refuse(export, name.isna(), "unique_event_name", "an event has no unique_event_name", fix)
    what = "unique_event_name '{}' appears twice in the events export"
    _refuse(export, name.duplicated(), "unique_event_name", what, fix, "unique_event_name")
    what = "event '{}' has no arm_num"
    _refuse(export, frame["arm_num"].isna(), "arm_num", what, fix, "unique_event_name")
    for column in (c for c in _OFFSETS if c in frame.columns):
        bad = frame[column].notna() & ~frame[column].str.fullmatch(_NUMBER).fillna(False)
        what = f"{column} '{{}}' of event '{{}}' is not a number of days"
        _refuse(export, bad, column, what, fix, column, "unique_event_name")
        frame[column] = _days(frame[column])


def _check_arms(export: Export, forms: list[str]) -> None:
    frame, fix = export.frame, _FIX[ARMS]
    _refuse(export, frame["arm_num"].isna(), "arm_num", "an arm has no arm_num", fix)
    what = "arm_num '{}' appears twice in the arms export"
    _refuse(export, frame["arm_num"].duplicated(), "arm_num", what, fix, "arm_num")


_CHECKS = {DESIGNATIONS: _check_designations, EVENTS: _check_events, ARMS: _check_arms}


def _refuse(export: Export, bad: pd.Series, column: str, what: str, fix: str, *values: str) -> None:
    """One line at the first flagged row, naming the row's `values` in `what`'s slots."""
    if not bad.any():
        return
    at = export.frame[bad.to_numpy(dtype=bool)].iloc[0]
    text = what.format(*(shown_value(at[value]) for value in values))
    raise UserError(text, at_row(export.shown, int(at[ROW]), column), fix)


def _days(values: pd.Series) -> pd.Series:
    """'7.0' -> '7', '1.50' -> '1.5'."""
    trimmed = values.str.replace(r"(\.[0-9]*?)0+$", r"\1", regex=True)
    return trimmed.str.replace(r"\.$", "", regex=True)


def _project(found: dict[str, Export]) -> Project:
    events, arms, designations = (found.get(kind) for kind in (EVENTS, ARMS, DESIGNATIONS))
    if events is not None and designations is not None:
        _refuse_unlisted(designations, events.frame, "unique_event_name", "event '{}'", EVENTS)
    listed = events if events is not None else designations
    assert listed is not None, "the arms export alone is refused before"
    if arms is not None:
        _refuse_unlisted(listed, arms.frame, "arm_num", "arm '{}'", ARMS)
    known = listed.frame["unique_event_name"].drop_duplicates().reset_index(drop=True)
    held = None
    if designations is not None:
        held = designations.frame[designations.frame["form"].notna()]
    labels = events.frame["event_name"].dropna() if events is not None else known.iloc[:0]
    return Project(
        known,
        EVENTS if events is not None else DESIGNATIONS,
        held,
        _event_columns(listed.frame, arms.frame if arms is not None else None, events is None),
        labels,
    )


def _refuse_unlisted(
    export: Export, listing: pd.DataFrame, column: str, named: str, kind: str
) -> None:
    unlisted = export.frame[column].notna() & ~export.frame[column].isin(listing[column])
    _refuse(export, unlisted, column, f"{named} is not in the {kind}", _FIX_TOGETHER, column)


def _event_columns(
    listed: pd.DataFrame, arms: pd.DataFrame | None, designations_only: bool
) -> pd.DataFrame:
    """Per unique event name, the columns a table gets: those of the events export, the arm's
    name from the arms export. The designations alone add nothing (as before the events
    export was read); with the arms export, the arm."""
    first = listed.drop_duplicates("unique_event_name").set_index("unique_event_name")
    table = pd.DataFrame(index=first.index)
    if designations_only and arms is None:
        return table
    for name, column in EVENT_COLUMNS.items():
        if column in first.columns:
            table[name] = first[column]
        elif name == "redcap_arm_name" and arms is not None:
            names = arms.drop_duplicates("arm_num").set_index("arm_num")["name"]
            table[name] = first["arm_num"].map(names).astype(first["arm_num"].dtype)
    return table
