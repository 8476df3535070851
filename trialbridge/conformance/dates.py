"""ISO 8601 text compared on the precision both values have: 2021-06 is neither before nor
after 2021-06-15. Vectorised by grouping records on their common length (a handful)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def later(first: pd.Series, second: pd.Series) -> pd.Series:
    """True where both have a value and `first` is after `second`."""
    both = first.notna() & second.notna()
    a = first.where(both, "").astype("str").str[:19]
    b = second.where(both, "").astype("str").str[:19]
    common = np.minimum(a.str.len().to_numpy(), b.str.len().to_numpy())
    result = np.zeros(len(a), dtype=bool)
    for n in np.unique(common[both.to_numpy()]):
        at = both.to_numpy() & (common == n)
        result[at] = (a[at].str[:n] > b[at].str[:n]).to_numpy()
    return pd.Series(result, index=first.index)
