"""ODM TransactionType: a Transactional file inserts, updates and removes records and items
in file order; a Snapshot holds each record once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from trialbridge.converters.odm_metadata import KEYS
from trialbridge.converters.odm_stream import Records, Streamed
from trialbridge.converters.source_cells import shown_value
from trialbridge.errors import UserError

_RECORD = [k for k in KEYS if k != "SiteRef"]
_PREFIX = {1: _RECORD[:2], 3: _RECORD[:4], 5: _RECORD[:6]}  # StudyOID first


def refuse_duplicates(
    streamed: Streamed,
    forms: np.ndarray,
    group: str,
    records: Records,
    keep: np.ndarray,
    shown: str,
) -> None:
    """Two records of a Snapshot with the same keys make the export ambiguous. Only records
    whose form instance is written twice (`forms`: form_keys), or whose repeat key repeats in
    its FormData, can share keys: those are compared, the others hold no array per record."""
    written = np.bincount(forms, minlength=1)[forms] > 1  # per form instance
    involved = written[records.contexts] if len(records) else np.zeros(0, bool)
    involved[records.repeated] = True
    picked = np.flatnonzero(involved & keep)
    if len(picked) < 2:
        return
    repeat = records.repeat_keys.take(pa.array(picked)).combine_chunks().dictionary_encode()
    keys = forms[records.contexts[picked]] * (len(repeat.dictionary) + 1)
    keys += repeat.indices.fill_null(-1).to_numpy() + 1
    order = np.argsort(keys, kind="stable")
    twice = order[1:][keys[order[1:]] == keys[order[:-1]]]
    if not len(twice):
        return
    second = int(twice.min())
    first = int(order[np.searchsorted(keys[order], keys[second])])
    keys_of = streamed.contexts[records.contexts[picked[first]]]
    subject, event = (
        streamed.names[keys_of[KEYS.index(k)]] for k in ("SubjectKey", "StudyEventOID")
    )
    at = f" at {shown_value(event)}" if event is not None else ""
    lines = records.lines[picked[[first, second]]]
    raise UserError(
        f"item group {shown_value(group)} of subject {shown_value(subject)}{at} appears "
        f"twice in a Snapshot file (lines {lines[0]} and {lines[1]})",
        shown,
        "give repeated records an ItemGroupRepeatKey, or export with FileType Transactional",
    )


def form_keys(contexts: np.ndarray) -> np.ndarray:
    """One number per form instance, equal for equal keys: the key columns folded in one at
    a time and renumbered after each, so the number stays below the count of forms (where
    np.unique over rows would sort copies of the whole table)."""
    keys = np.zeros(len(contexts), np.int64)
    for column in contexts.T:
        keys = keys * (int(column.max(initial=0)) + 1) + column
        keys = pd.factorize(keys)[0].astype(np.int64, copy=False)
    return keys


def apply_transactions(
    frame: pd.DataFrame,
    indices: np.ndarray,
    removed: np.ndarray,
    tombstones: list[tuple[int, tuple[str | None, ...], int]],
    items: list[str],
    marker: str,
) -> pd.DataFrame:
    """Records after their removal are kept; later values of a record override earlier ones;
    an item removed is missing from then on. `indices`: each row's record, in file order;
    a tombstone gives the records read before it (level, key prefix, count)."""
    keep = ~removed
    for level, keys, at in tombstones:
        covered = np.ones(len(frame), dtype=bool)
        for name, value in zip(_PREFIX[level], keys, strict=True):
            column = frame[name]
            covered &= column.isna().to_numpy() if value is None else (column == value).to_numpy()
        keep &= ~(covered & (indices < at))
    record = frame[_RECORD].fillna("\x00none").groupby(_RECORD, sort=False).ngroup().to_numpy()
    last_removal = np.full(record.max(initial=-1) + 1, -1, dtype=np.int64)
    np.maximum.at(last_removal, record[removed], indices[removed])
    keep &= indices > last_removal[record]
    kept = frame.loc[keep]
    # keys and lineage from the record's first appearance, items from their latest values
    how = {c: "last" if c in items else "first" for c in frame.columns}
    result = kept.groupby(record[keep], sort=False).agg(how).reset_index(drop=True)
    result[items] = result[items].mask(result[items] == marker)
    return result
