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
from trialbridge.converters.odm_stream import (
    REMOVED,
    Collected,
    Records,
    Streamed,
    read_metadata,
    stream,
)
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
    meta = streamed.metadata
    records = collected.records()
    columns = dict(_keys(streamed, collected.oid, records))
    for oid, values in _items(collected.items, records):
        _check(values, records, oid, meta, path, shown)
        columns[meta.items[oid].name] = values
    frame = pd.DataFrame({name: pd.Series(v, dtype=_TEXT) for name, v in columns.items()})
    frame[FILE] = shown
    frame[ROW] = records.lines
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    if streamed.file_type == "Transactional" or records.removed.any() or streamed.tombstones:
        items = [meta.items[oid].name for oid in collected.items]
        return apply_transactions(
            frame, records.positions, records.removed, streamed.tombstones, items, REMOVED
        )
    refuse_duplicates(frame, _record_keys(streamed, records), shown)
    return frame


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
    item = meta.items[oid]
    codes = meta.codelists.get(item.codelist) if item.codelist else None
    bad, why = first_misfit(pc.if_else(pc.equal(values, REMOVED), None, values), item, codes)
    if bad < 0:
        return
    value = values[bad].as_py()
    line = _item_line(path, int(records.lines[bad]), oid)
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
