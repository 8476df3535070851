"""Look values up by key through the distinct keys: a study has thousands of subjects but
millions of records, and mapping Arrow text row by row is what made derivations slow."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import take


def lookup(keys: pd.Series, table: pd.Series | Mapping[Any, Any]) -> pd.Series:
    """table[key] for every row (missing where the key is missing or unknown), as
    Series.map gives it, from one lookup per distinct key."""
    codes, distinct = pd.factorize(keys, use_na_sentinel=True)
    found = pd.Series(distinct).map(table)
    return pd.Series(take(found.array, codes, allow_fill=True), index=keys.index, name=keys.name)


def per_distinct(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """function(value) for every non-missing row, computed once per distinct value."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    found = pd.Series([function(v) for v in distinct])
    return pd.Series(take(found.array, codes, allow_fill=True), index=values.index)


def numbers(values: pd.Series) -> pd.Series:
    """Text to float64 (NaN where not a number), each distinct text parsed once."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    parsed = pd.to_numeric(pd.Series(distinct, dtype="str"), errors="coerce").to_numpy("float64")
    return pd.Series(take(parsed, codes, allow_fill=True), index=values.index, dtype="float64")


def lookup_pairs(
    first: pd.Series, second: pd.Series, table: tuple[pd.Series, pd.Series, np.ndarray]
) -> pd.Series:
    """table value for each row's (first, second) pair, NaN where the pair is not in the
    table (whose pairs are unique). Both sides become integer codes over the rows' distinct
    values, so no text key is built per row."""
    keys_first, keys_second, values = table
    codes_first, distinct_first = pd.factorize(first, use_na_sentinel=True)
    codes_second, distinct_second = pd.factorize(second, use_na_sentinel=True)
    width = len(distinct_second) + 1
    rows = codes_first.astype(np.int64) * width + codes_second
    rows[(codes_first < 0) | (codes_second < 0)] = -1
    at_first = pd.Index(distinct_first).get_indexer(keys_first)
    at_second = pd.Index(distinct_second).get_indexer(keys_second)
    known = (at_first >= 0) & (at_second >= 0)
    keys = at_first[known].astype(np.int64) * width + at_second[known]
    order = np.argsort(keys)
    keys, found = keys[order], np.asarray(values, dtype="float64")[known][order]
    where = np.searchsorted(keys, rows).clip(0, max(len(keys) - 1, 0))
    hit = (rows >= 0) & (len(keys) > 0) & (keys[where] == rows if len(keys) else False)
    result = np.where(hit, found[where] if len(keys) else np.nan, np.nan)
    return pd.Series(result, index=first.index, dtype="float64")
