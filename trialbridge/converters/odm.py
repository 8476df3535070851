"""ODM 1.3.2 exports as source tables: one row per ItemGroupData of a source's item group,
its ODM keys as columns, its items by their ItemDef Name, and lineage (file, line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.converters.lineage import BLANK, COLUMN, FILE, ROW
from trialbridge.converters.odm_metadata import KEYS, Metadata
from trialbridge.converters.odm_stream import (
    REMOVED,
    Collected,
    Records,
    Streamed,
    read_metadata,
    stream,
)
from trialbridge.converters.odm_transactions import apply_transactions, refuse_duplicates
from trialbridge.converters.odm_types import misfits
from trialbridge.converters.source_cells import (
    TEXT,
    check_cells,
    counted,
    report_at_rows,
    shown_value,
)
from trialbridge.errors import KEEP_PER_KIND, UserError
from trialbridge.study import Source

_SCAN = 4 << 20


def read_odm(root: Path, sources: list[Source]) -> dict[str, pd.DataFrame]:
    """Tables for ODM sources that read one file (parsed once for all of them)."""
    first = sources[0]
    path = root / first.file
    if not path.is_file():
        raise UserError(
            f"source '{first.name}' file not found", first.file, "check 'file' in study.yaml"
        )
    metadata = _metadata(root, first)
    streamed = stream(path, first.file, {s.item_group or "" for s in sources}, metadata)
    tables = {
        oid: _table(streamed, collected, path, first.file)
        for oid, collected in streamed.groups.items()
    }
    seen: set[str] = set()
    result = {}
    for source in sources:  # a second source on the same group gets its own copy
        group = source.item_group or ""
        result[source.name] = tables[group].copy() if group in seen else tables[group]
        seen.add(group)
    return result


def _metadata(root: Path, source: Source) -> Metadata | None:
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


def _table(streamed: Streamed, collected: Collected, path: Path, shown: str) -> pd.DataFrame:
    """The group's records as a table, every value checked; rows_read counts every
    ItemGroupData of the group in the file, rows_skipped those under ReferenceData (no
    subject's) and those a transaction removed or merged into an earlier record."""
    meta = streamed.metadata
    records = collected.records()
    columns = dict(_keys(streamed, collected.oid, records))
    for name, values in columns.items():
        check_cells(values, records.lines, shown, name)
    for oid, values in _items(collected.items, records):
        _check(values, records, oid, meta, path, shown)
        columns[meta.items[oid].name] = values
    frame = pd.DataFrame({name: pd.Series(v, dtype=TEXT) for name, v in columns.items()})
    frame[FILE] = shown
    frame[ROW] = records.lines
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    read = len(frame)
    if streamed.file_type == "Transactional" or records.removed.any() or streamed.tombstones:
        items = [meta.items[oid].name for oid in collected.items]
        frame = apply_transactions(
            frame, records.positions, records.removed, streamed.tombstones, items, REMOVED
        )
    else:
        refuse_duplicates(frame, _record_keys(streamed, records), shown)
    reference = streamed.reference.get(collected.oid, 0)
    skipped = {
        BLANK: 0,
        "reference data, not a subject's": reference,
        "removed or merged by a transaction": read - len(frame),
    }
    return counted(frame, read + reference, skipped)


def _record_keys(streamed: Streamed, records: Records) -> np.ndarray:
    """One integer per record that is equal only for records with the same ODM keys: the
    form instance's keys (few) numbered, then the repeat key beside them."""
    if len(records) == 0:
        return np.zeros(0, np.int64)
    _, form = np.unique(streamed.contexts, axis=0, return_inverse=True)
    forms = form.reshape(-1)[records.contexts].astype(np.int64)
    repeat = records.repeat_keys.dictionary_encode().indices
    codes = repeat.fill_null(-1).to_numpy().astype(np.int64) + 1  # 0: no repeat key
    return forms * (int(codes.max(initial=0)) + 1) + codes


def _keys(streamed: Streamed, group: str, records: Records) -> Iterator[tuple[str, pa.Array]]:
    """The ODM key columns, taken from the per-form contexts."""
    names = pa.array(streamed.names, pa.string())
    keys = [k for k in KEYS if k not in ("ItemGroupOID", "ItemGroupRepeatKey")]
    for i, name in enumerate(keys):
        codes = streamed.contexts[:, i][records.contexts] if len(records) else []
        yield name, names.take(pa.array(codes, pa.int32()))
        if name == "FormRepeatKey":
            yield "ItemGroupOID", pa.repeat(group, len(records)).cast(pa.string())
            yield "ItemGroupRepeatKey", records.repeat_keys


def _items(items: list[str], records: Records) -> Iterator[tuple[str, pa.Array]]:
    """One column per ItemRef: the record's value, or null where the item was not sent."""
    order = np.argsort(records.slots, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(records.slots, minlength=len(items)))])
    for slot, oid in enumerate(items):
        picked = order[bounds[slot] : bounds[slot + 1]]
        at = np.full(len(records), -1, dtype=np.int64)
        at[records.rows[picked]] = np.arange(len(picked))  # an item sent twice: the last
        yield oid, records.values.take(pa.array(picked)).take(pa.array(at, mask=at < 0))


def _check(
    values: pa.Array, records: Records, oid: str, meta: Metadata, path: Path, shown: str
) -> None:
    """Report every value of the item that does not fit its ItemDef, holds a control
    character or is too long, at the line of its ItemData."""
    item = meta.items[oid]
    codes = meta.codelists.get(item.codelist) if item.codelist else None
    values = pc.if_else(pc.equal(values, REMOVED), None, values)
    lines = _ItemLines(path, records.lines, oid)
    fix = f"the ItemDef declares DataType {item.data_type}: fix the value or the metadata"
    for why, bad in misfits(values, item, codes):
        kept = bad[:KEEP_PER_KIND]
        texts = [
            f"value '{shown_value(values[int(i)].as_py())}' of item {item.name} ({oid}) {why}"
            for i in kept
        ]
        report_at_rows(shown, lines(bad), texts, fix, kind=f"item {oid} {why}")
    check_cells(values, records.lines, shown, item.name, lines)


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
