"""ODM TransactionType: a Transactional file inserts, updates and removes records and items
in file order; a Snapshot holds each record once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.converters.odm_metadata import KEYS
from trialbridge.converters.sources import ROW
from trialbridge.errors import UserError

_RECORD = [k for k in KEYS if k != "SiteRef"]
_PREFIX = {1: _RECORD[:2], 3: _RECORD[:4], 5: _RECORD[:6]}  # StudyOID first


def refuse_duplicates(frame: pd.DataFrame, keys: np.ndarray, shown: str) -> None:
    """Two ItemGroupData with the same keys in a snapshot: the export is ambiguous. `keys`
    holds one number per record, equal for equal ODM keys."""
    ordered = np.sort(keys)  # a copy of the keys (np.unique's hash table holds far more)
    if not (ordered[1:] == ordered[:-1]).any():
        return
    order = np.argsort(keys, kind="stable")
    twice = order[1:][keys[order[1:]] == keys[order[:-1]]]
    second = int(twice.min())
    first = int(order[np.searchsorted(keys[order], keys[second])])
    row = frame.iloc[first]
    raise UserError(
        f"item group {row['ItemGroupOID']} of subject {row['SubjectKey']} at "
        f"{row['StudyEventOID']} appears twice in a Snapshot file (lines {row[ROW]} and "
        f"{frame.iloc[second][ROW]})",
        shown,
        "give repeated records an ItemGroupRepeatKey, or export with FileType Transactional",
    )


def apply_transactions(
    frame: pd.DataFrame,
    positions: np.ndarray,
    removed: np.ndarray,
    tombstones: list[tuple[int, tuple[str | None, ...], int]],
    items: list[str],
    marker: str,
) -> pd.DataFrame:
    """Records after their removal are kept; later values of a record override earlier ones;
    an item removed is missing from then on."""
    keep = ~removed
    for level, keys, at in tombstones:
        covered = np.ones(len(frame), dtype=bool)
        for name, value in zip(_PREFIX[level], keys, strict=True):
            column = frame[name]
            covered &= column.isna().to_numpy() if value is None else (column == value).to_numpy()
        keep &= ~(covered & (positions < at))
    record = frame[_RECORD].fillna("\x00none").groupby(_RECORD, sort=False).ngroup().to_numpy()
    last_removal = np.full(record.max(initial=-1) + 1, -1, dtype=np.int64)
    np.maximum.at(last_removal, record[removed], positions[removed])
    keep &= positions > last_removal[record]
    kept = frame.loc[keep]
    # keys and lineage from the record's first appearance, items from their latest values
    how = {c: "last" if c in items else "first" for c in frame.columns}
    result = kept.groupby(record[keep], sort=False).agg(how).reset_index(drop=True)
    result[items] = result[items].mask(result[items] == marker)
    return result
