"""ODM TransactionType: a Transactional file inserts, updates and removes records and items
in file order; a Snapshot holds each record once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.converters.odm_metadata import KEYS
from trialbridge.converters.sources import ROW
from trialbridge.errors import UserError

_RECORD = [k for k in KEYS if k != "SiteRef"]
_PREFIX = {1: _RECORD[:1], 3: _RECORD[:3], 5: _RECORD[:5]}


def refuse_duplicates(frame: pd.DataFrame, keys: np.ndarray, shown: str) -> None:
    """Two ItemGroupData with the same keys in a snapshot: the export is ambiguous. `keys`
    holds one number per record, equal for equal ODM keys."""
    if len(keys) == 0 or len(np.unique(keys)) == len(keys):
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
    group_removed = _group_removals(frame, positions, removed)
    keep &= positions > group_removed
    frame = frame.loc[keep]
    keys = frame[_RECORD].fillna("\x00none")
    merged = frame.groupby([keys[k] for k in _RECORD], sort=False, dropna=False)
    rest = [c for c in frame.columns if c not in items and c not in _RECORD]
    result = merged[items].last().reset_index(drop=True)
    for name in [*_RECORD[::-1], *rest[::-1]]:
        source = merged[name].first().reset_index(drop=True)
        result.insert(0, name, source)
    ordered = [c for c in frame.columns if c in result]
    result = result[ordered]
    result[items] = result[items].mask(result[items] == marker)
    return result.reset_index(drop=True)


def _group_removals(frame: pd.DataFrame, positions: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """For each record, the position of the last Remove of the same record (-1 if none)."""
    keys = frame[_RECORD].fillna("\x00none")
    group = keys.groupby(_RECORD, sort=False, dropna=False).ngroup().to_numpy()
    last = np.full(group.max() + 1 if len(group) else 0, -1, dtype=np.int64)
    np.maximum.at(last, group[removed], positions[removed])
    return last[group]
