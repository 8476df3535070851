"""ODM 1.3.2 exports as source tables: one row per ItemGroupData of a source's item group,
its ODM keys as columns, its items by their ItemDef Name, and lineage (file, line)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.converters.lineage import BLANK, COLUMN, FILE, NOTES, ROW
from trialbridge.converters.odm_metadata import KEYS, ItemDef, Metadata, Version
from trialbridge.converters.odm_stream import (
    REMOVED,
    STRING,
    WIDTH,
    Collected,
    Records,
    Streamed,
    listed,
    read_metadata,
    stream,
)
from trialbridge.converters.odm_transactions import (
    apply_transactions,
    form_keys,
    refuse_duplicates,
)
from trialbridge.converters.odm_types import misfits
from trialbridge.converters.source_cells import (
    TEXT,
    check_cells,
    control_characters,
    counted,
    kept_note,
    oversized,
    report_at_rows,
    shown_value,
)
from trialbridge.errors import KEEP_PER_KIND, UserError
from trialbridge.heap import release_free_pages
from trialbridge.study import Source

_SCAN = 4 << 20
_NO_FORMS = np.zeros((0, WIDTH), np.int32)  # not a view: a view would keep the array it cuts


def read_odm(root: Path, sources: list[Source]) -> dict[str, pd.DataFrame]:
    """Tables for ODM sources that read one file (parsed once for all of them)."""
    first = sources[0]
    path = root / first.file
    if not path.is_file():
        raise UserError(
            f"source '{first.name}' file not found", first.file, "check 'file' in study.yaml"
        )
    metadata = _metadata(root, first)
    groups = {s.item_group for s in sources if s.item_group is not None}
    subjects = any(s.table == "subjects" for s in sources)
    streamed = stream(path, first.file, groups, metadata, subjects)
    for source in sources:
        if source.item_group is not None:
            _check_split(source, streamed.groups[source.item_group], first.file)
    forms = form_keys(streamed.contexts)
    keyed = {oid: _keyed(streamed, c, forms, first.file) for oid, c in streamed.groups.items()}
    del forms
    streamed = replace(streamed, contexts=_NO_FORMS)  # the key columns hold them now
    result = {}
    for source in sources:  # each source its own table: options differ, and specs change them
        if source.item_group is None:
            result[source.name] = subject_table(streamed, first.file)
        else:
            collected = streamed.groups[source.item_group]
            records, keys = keyed[collected.oid]
            reading = Reading(streamed, collected, records, keys, path, first.file)
            result[source.name] = reading.table(source)
    return result


def _check_split(source: Source, collected: Collected, shown: str) -> None:
    """A source's 'split' names items of its group."""
    unknown = [name for name in source.split if name not in collected.columns]
    if unknown:
        raise UserError(
            f"'split' of source '{shown_value(source.name)}' names "
            f"'{shown_value(unknown[0])}', which is no item of item group "
            f"{shown_value(collected.oid)}",
            shown,
            f"name one of its items: {listed(collected.columns)}",
        )


def _keyed(
    streamed: Streamed, collected: Collected, forms: np.ndarray, shown: str
) -> tuple[Records, dict[str, pa.Array]]:
    """A group's records and their key columns (ODM keys, vendor attributes), checked, and a
    Snapshot's one-record rule applied: done before any table is built, so that the arrays
    per form and per record that name the keys are gone before the tables take the memory."""
    records = collected.records()
    columns = dict(_keys(streamed, collected.oid, records))
    columns.update(_extras(streamed, records))
    coded = _coded_keys(streamed, collected.oid)
    for name, values in columns.items():
        if name not in coded:
            check_cells(values, records.lines, shown, name)
    if not _transactional(streamed, records):
        refuse_duplicates(streamed, forms, collected.oid, records, ~_blank(records), shown)
    return replace(records, contexts=_NO_FORMS[:, 0]), columns


def _transactional(streamed: Streamed, records: Records) -> bool:
    """Whether transactions apply to the records (else each is in the file once)."""
    removals = len(records.removals) > 0 or len(streamed.tombstones) > 0
    return streamed.file_type == "Transactional" or removals


def _metadata(root: Path, source: Source) -> dict[Version, Metadata] | None:
    if source.metadata is None:
        return None
    path = root / source.metadata
    if not path.is_file():
        raise UserError(
            f"ODM metadata file for source '{source.name}' not found",
            source.metadata,
            "check 'metadata' in study.yaml",
        )
    return read_metadata(path, source.metadata)


@dataclass
class Reading:
    """One source's table of an item group: every value checked, lenient or not."""

    streamed: Streamed
    collected: Collected
    records: Records
    keys: dict[str, pa.Array]  # the key columns, checked
    path: Path
    shown: str
    lenient: bool = False
    notes: list[str] = field(default_factory=list)

    def table(self, source: Source) -> pd.DataFrame:
        """The group's records as a table; rows_read counts every ItemGroupData of the group
        in the file, rows_skipped those holding no value, those under ReferenceData (no
        subject's) and those a transaction removed or merged into an earlier record."""
        self.lenient, self.notes = source.lenient, list(self.collected.notes)
        records, collected = self.records, self.collected
        columns = dict(self.keys)
        items: list[str] = []
        for slot, values in _items(collected, records):
            for name, column in self._columns(slot, values, source):
                columns[name] = column
                items.append(name)
            release_free_pages()  # the checks' transients, before the next column's
        frame = _frame(columns, records.lines, self.shown)
        if self.notes:
            frame.attrs[NOTES] = self.notes
        return self._records(frame, items)

    def _records(self, frame: pd.DataFrame, items: list[str]) -> pd.DataFrame:
        """Blank records out, then transactions (or the Snapshot's one-record rule)."""
        records, streamed = self.records, self.streamed
        read, oid = len(frame), self.collected.oid
        blank = _blank(records)
        release_free_pages()
        keep = ~blank
        if blank.any():  # a copy of the table only when records go
            frame = frame.loc[keep].reset_index(drop=True)
        if _transactional(streamed, records):
            frame = apply_transactions(
                frame,
                np.flatnonzero(keep),
                records.removed[keep],
                [(t.level, t.keys, t.counts[oid]) for t in streamed.tombstones],
                items,
                REMOVED,
            )
        reference = streamed.reference.get(self.collected.oid, 0)
        skipped = {
            BLANK: int(blank.sum()),
            "reference data, not a subject's": reference,
            "removed or merged by a transaction": read - int(blank.sum()) - len(frame),
        }
        return counted(frame, read + reference, skipped)

    def _columns(
        self, slot: int, values: pa.Array, source: Source
    ) -> Iterator[tuple[str, pa.Array]]:
        """An item's column and those it brings: a split item's column per code, a unit's
        symbol, an external dictionary's name and version."""
        collected, meta = self.collected, self.streamed.metadata
        column, oid = collected.columns[slot], collected.items[slot]
        if slot in collected.units.values():
            yield column, values
            yield column.removesuffix("OID"), _symbols(values, self.streamed.units)
            return
        item = meta.items[oid]
        if item.several or column in source.split:
            yield column, values
            yield from self._split(column, item, values, column in source.split)
            return
        self._check(values, item, column)
        yield column, values
        if item.codelist in meta.external:
            dictionary, version = meta.external[item.codelist]
            yield f"{column}.Dictionary", _constant(dictionary, values)
            yield f"{column}.Version", _constant(version, values)

    def _check(self, values: pa.Array, item: ItemDef, column: str) -> None:
        """Report every value of the item that does not fit its ItemDef (a lenient source
        notes them), holds a control character or is too long, at the line of its ItemData."""
        codes = self._codes(item)
        if self.streamed.file_type == "Transactional":  # only there an item is removed
            values = pc.if_else(pc.equal(values, REMOVED), None, values)
        lines = _ItemLines(self.path, self.records.lines, item.oid)
        self._misfits(values, item, codes, column, lines)
        check_cells(values, self.records.lines, self.shown, column, lines)

    def _codes(self, item: ItemDef) -> list[str] | None:
        meta = self.streamed.metadata
        if item.codelist is None or item.codelist in meta.external:
            return None  # a dictionary's terms (MedDRA, WHODrug) are not in the file
        return meta.codelists.get(item.codelist)

    def _misfits(
        self,
        values: pa.Array,
        item: ItemDef,
        codes: list[str] | None,
        column: str,
        lines: Callable[[np.ndarray], np.ndarray],
        parents: np.ndarray | None = None,
    ) -> None:
        """Values (or a split item's parts, each with its record in `parents`) that do not fit
        the item: errors, or notes when the source is lenient."""
        fix = f"the ItemDef declares DataType {item.data_type}: fix the value or the metadata"
        for why, bad in misfits(values, item, codes):
            records = bad if parents is None else parents[bad]
            shown = [values[int(i)].as_py() for i in bad[:KEEP_PER_KIND]]
            if self.lenient:
                first = f"{self.shown}, line {int(lines(records[:1])[0])}"
                what = f"of item {column} ({item.oid}) that {why}"
                self.notes.append(kept_note(what, len(bad), shown, first))
                continue
            listing = _multiple(values, bad, codes) if codes and parents is None else None
            texts = [f"value '{shown_value(v)}' of item {column} ({item.oid}) {why}" for v in shown]
            report_at_rows(
                self.shown, lines(records), texts, listing or fix, kind=f"item {item.oid} {why}"
            )

    def _split(
        self, column: str, item: ItemDef, values: pa.Array, split: bool
    ) -> Iterator[tuple[str, pa.Array]]:
        """A multi-select value ('1,3'): each part checked against the codelist, and when the
        source splits it a column per code, `column___code`, '1' where chosen, '0' where not,
        null where the item is."""
        codes = self._codes(item)
        if codes is None:
            raise UserError(
                f"'split' names item {shown_value(column)} ({item.oid}), which has no CodeList "
                "to give its codes",
                self.shown,
                "split only items with a CodeList, or drop the item from 'split'",
            )
        # one array: a chunked one's list parents would count from each chunk's start
        kept = pc.if_else(pc.equal(values, REMOVED), None, values).combine_chunks()
        lists = pc.split_pattern(kept, ",")
        parents = pc.list_parent_indices(lists).to_numpy()
        parts = pc.utf8_trim_whitespace(pc.list_flatten(lists))
        lines = _ItemLines(self.path, self.records.lines, item.oid)
        self._misfits(parts, item, codes, column, lines, parents)
        if not split:
            return
        present = pc.is_valid(kept).to_numpy(zero_copy_only=False)
        for code in codes:
            chosen = np.zeros(len(values), dtype=bool)
            chosen[parents[pc.equal(parts, code).to_numpy(zero_copy_only=False)]] = True
            texts = np.where(chosen, "1", "0").astype(object)
            yield f"{column}___{code}", pa.array(texts, STRING, mask=~present)


def _multiple(values: pa.Array, bad: np.ndarray, codes: list[str]) -> str | None:
    """The fix for codelist misfits that are lists of codes ('1,3'): a multi-select item."""
    first = values[int(bad[0])].as_py() or ""
    parts = [p.strip() for p in first.split(",")]
    if len(parts) > 1 and all(p in codes for p in parts):
        return "the value lists codes of a multi-select item: name it in 'split' for this source"
    return None


def _symbols(units: pa.Array, symbols: dict[str, str]) -> pa.Array:
    """Each unit OID's symbol (missing for an OID BasicDefinitions does not define)."""
    known = pa.array(list(symbols), pa.string())
    found = pc.index_in(units, value_set=known)
    return pa.array(list(symbols.values()), STRING).take(found)


def _constant(text: str, like: pa.Array) -> pa.Array:
    """`text` where `like` has a value, missing where it has none."""
    missing = pc.is_null(like).to_numpy(zero_copy_only=False)
    return pa.array(np.full(len(like), text, dtype=object), STRING, mask=missing)


def subject_table(streamed: Streamed, shown: str) -> pd.DataFrame:
    """One row per subject: StudyOID, SubjectKey, SiteRef and its vendor attributes. A
    subject met again (another ClinicalData, a transaction) is merged into its row, a later
    value winning; one a transaction removes is left out."""
    rows: dict[tuple[str | None, str | None], dict[str, str | int | None]] = {}
    merged = removed = 0
    for subject in streamed.subjects:
        key = subject.keys[:2]
        if subject.removed:
            removed += 1 + (key in rows)
            rows.pop(key, None)
            continue
        row = dict(zip(("StudyOID", "SubjectKey", "SiteRef"), subject.keys, strict=True))
        if key in rows:
            merged += 1
            rows[key].update({k: v for k, v in {**row, **subject.extras}.items() if v is not None})
        else:
            rows[key] = {**row, **subject.extras, ROW: subject.line}
    names = ["StudyOID", "SubjectKey", "SiteRef"]
    names += sorted({name for row in rows.values() for name in row} - {*names, ROW})
    frame = pd.DataFrame(
        {name: pd.Series([row.get(name) for row in rows.values()], dtype=TEXT) for name in names}
    )
    lines = np.array([row[ROW] for row in rows.values()], dtype=np.int64)
    for name in names:
        values = pa.array([row.get(name) for row in rows.values()], pa.string())
        check_cells(values, lines, shown, name)
    frame[FILE] = shown
    frame[ROW] = lines
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    skipped = {"the same subject again (merged)": merged, "removed by a transaction": removed}
    return counted(frame, len(streamed.subjects), skipped)


def _frame(columns: dict[str, pa.Array], lines: np.ndarray, shown: str) -> pd.DataFrame:
    """The table: its columns as they are (no copy), then the lineage columns."""
    count = len(lines)
    frame = {name: pd.Series(values, dtype=TEXT) for name, values in columns.items()}
    frame[FILE] = pd.Series(pa.repeat(shown, count).cast(STRING), dtype=TEXT)
    frame[ROW] = pd.Series(lines, copy=False)
    frame[COLUMN] = pd.Series(pa.nulls(count, STRING), dtype=TEXT)
    return pd.DataFrame(frame, copy=False)


def _blank(records: Records) -> np.ndarray:
    """The records that sent no value and remove nothing."""
    blank = np.ones(len(records), bool)
    blank[records.removals] = False
    for values in records.items:
        blank &= pc.is_null(values).to_numpy()
    return blank


def _coded_keys(streamed: Streamed, group: str) -> set[str]:
    """The key columns that need no check record by record: they repeat a few names (OIDs,
    keys), and when none of those holds a control character or is too long, no record's
    value does."""
    names = pa.array([*streamed.names, group], STRING)
    if len(control_characters(names)) or len(oversized(names)):
        return set()
    return {*KEYS[:WIDTH], "ItemGroupOID"}


def _keys(streamed: Streamed, group: str, records: Records) -> Iterator[tuple[str, pa.Array]]:
    """The ODM key columns, taken from the per-form contexts."""
    names = pa.array(streamed.names, STRING)
    for i, name in enumerate(KEYS[:WIDTH]):
        codes = streamed.contexts[:, i][records.contexts] if len(records) else []
        yield name, names.take(pa.array(codes, pa.int32()))
    yield "ItemGroupOID", pa.repeat(group, len(records)).cast(STRING)
    yield "ItemGroupRepeatKey", records.repeat_keys


def _extras(streamed: Streamed, records: Records) -> Iterator[tuple[str, pa.Array]]:
    """Vendor attributes of the record's subject, event and form, one column each."""
    for name in sorted(streamed.extras):
        by_form = streamed.extras[name]
        per_form = np.full(len(streamed.contexts), None, dtype=object)
        per_form[np.fromiter(by_form, np.int64, len(by_form))] = list(by_form.values())
        yield name, pa.array(per_form, STRING).take(pa.array(records.contexts, pa.int32()))


def _items(collected: Collected, records: Records) -> Iterator[tuple[int, pa.Array]]:
    """Per slot, in order (each item followed by its unit's slot): its column."""
    for slot in _slot_order(collected):
        yield slot, records.items[slot]


def _slot_order(collected: Collected) -> list[int]:
    """Items in order, each followed by its unit's slot."""
    units = set(collected.units.values())
    order = []
    for slot in range(len(collected.items)):
        if slot not in units:
            order.append(slot)
            if slot in collected.units:
                order.append(collected.units[slot])
    return order


class _ItemLines:
    """The lines of an item's ItemData, for records given by position: looked up only for
    the ones an error shows (KEEP_PER_KIND at most), in one pass over the file."""

    def __init__(self, path: Path, starts: np.ndarray, oid: str) -> None:
        self.path, self.starts, self.oid = path, starts, oid

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        lines = self.starts[positions].astype(np.int64)
        shown = lines[:KEEP_PER_KIND]
        order = np.argsort(shown, kind="stable")
        found = self._find(shown[order])
        lines[order] = found  # only the first KEEP_PER_KIND are refined
        return lines

    def _find(self, starts: np.ndarray) -> np.ndarray:
        """For each record start line (sorted), the first line from it naming the item: one
        pass over the file in blocks, the newlines of each block found by numpy."""
        needles = (f'ItemOID="{self.oid}"'.encode(), f"ItemOID='{self.oid}'".encode())
        found = starts.copy()
        at, first_line, carry = 0, 1, b""
        with self.path.open("rb") as handle:
            while at < len(starts) and (block := handle.read(_SCAN)):
                text = carry + block
                newlines = np.flatnonzero(np.frombuffer(text, np.uint8) == 10)
                while at < len(starts):
                    skip = max(int(starts[at]) - first_line, 0)
                    if skip > len(newlines):
                        break  # the record starts in a later block
                    offset = 0 if skip == 0 else int(newlines[skip - 1]) + 1
                    hits = [h for h in (text.find(n, offset) for n in needles) if h >= 0]
                    if not hits:
                        break  # the item is in a later block
                    line = first_line + int(np.searchsorted(newlines, min(hits)))
                    while at < len(starts) and starts[at] <= line:
                        found[at] = line
                        at += 1
                last = int(newlines[-1]) + 1 if len(newlines) else 0
                carry, first_line = text[last:], first_line + len(newlines)
        return found
