"""Look values up by key through the distinct keys: a study has thousands of subjects but
millions of records, and mapping Arrow text row by row is what made derivations slow."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

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
