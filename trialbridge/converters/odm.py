"""ODM 1.3.2 exports as source tables: one row per ItemGroupData of a source's item group,
its ODM keys as columns, its items by their ItemDef Name, and lineage (file, line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.converters.odm_metadata import KEYS, Metadata
from trialbridge.converters.odm_stream import REMOVED, Collected, Streamed, read_metadata, stream
from trialbridge.converters.odm_transactions import apply_transactions, refuse_duplicates
from trialbridge.converters.odm_types import first_misfit
from trialbridge.converters.sources import COLUMN, FILE, ROW
from trialbridge.errors import UserError
from trialbridge.study import Source

_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


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
    return {s.name: tables[s.item_group or ""].copy() for s in sources}


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
    meta = streamed.metadata
    columns = dict(_keys(streamed, collected))
    for oid, values in _items(collected):
        _check(values, collected, oid, meta, path, shown)
        columns[meta.items[oid].name] = values
    frame = pd.DataFrame({name: pd.Series(v, dtype=_TEXT) for name, v in columns.items()})
    frame[FILE] = shown
    frame[ROW] = np.array(collected.lines, dtype=np.int64)
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    positions = np.array(collected.positions, dtype=np.int64)
    removed = np.array(collected.removed, dtype=bool)
    if streamed.file_type == "Transactional" or removed.any() or streamed.tombstones:
        items = [meta.items[oid].name for oid in collected.items]
        return apply_transactions(frame, positions, removed, streamed.tombstones, items, REMOVED)
    refuse_duplicates(frame, shown)
    return frame


def _keys(streamed: Streamed, collected: Collected) -> Iterator[tuple[str, pa.Array]]:
    """The ODM key columns, taken from the per-form contexts."""
    contexts = np.array(collected.contexts, dtype=np.int64)
    fields = list(zip(*streamed.contexts, strict=True)) if streamed.contexts else [()] * 6
    names = [k for k in KEYS if k not in ("ItemGroupOID", "ItemGroupRepeatKey")]
    for name, values in zip(names, fields, strict=True):
        yield name, pa.array(values, pa.string()).take(contexts)
        if name == "FormRepeatKey":
            yield "ItemGroupOID", pa.array([collected.oid] * len(contexts), pa.string())
            yield "ItemGroupRepeatKey", pa.array(collected.repeat_keys, pa.string())


def _items(collected: Collected) -> Iterator[tuple[str, pa.Array]]:
    """One column per ItemRef: the record's value, or null where the item was not sent."""
    count = len(collected.contexts)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int32), pa.array([], pa.string()))
    chunks = collected.chunks or [empty]
    rows = np.concatenate([c[0] for c in chunks])
    slots = np.concatenate([c[1] for c in chunks])
    values = pa.concat_arrays([c[2] for c in chunks])
    order = np.argsort(slots, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(slots, minlength=len(collected.items)))])
    for slot, oid in enumerate(collected.items):
        picked = order[bounds[slot] : bounds[slot + 1]]
        at = np.full(count, -1, dtype=np.int64)
        at[rows[picked]] = np.arange(len(picked))  # an item sent twice in a record: the last
        yield oid, values.take(pa.array(picked)).take(pa.array(at, mask=at < 0))


def _check(
    values: pa.Array, collected: Collected, oid: str, meta: Metadata, path: Path, shown: str
) -> None:
    item = meta.items[oid]
    codes = meta.codelists.get(item.codelist) if item.codelist else None
    bad, why = first_misfit(pc.if_else(pc.equal(values, REMOVED), None, values), item, codes)
    if bad < 0:
        return
    value = values[bad].as_py()
    line = _item_line(path, collected.lines[bad], oid)
    raise UserError(
        f"value '{value}' of item {item.name} ({oid}) {why}",
        f"{shown}, line {line}",
        f"the ItemDef declares DataType {item.data_type}: fix the value or the metadata",
    )


def _item_line(path: Path, start: int, oid: str) -> int:
    """The line of the item's ItemData, looked up only when reporting it."""
    needles = (f'ItemOID="{oid}"', f"ItemOID='{oid}'")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number >= start and any(n.encode() in raw for n in needles):
                return number
    return start
