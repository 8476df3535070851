"""Record keys as SUPP-- and RELREC write them in IDVARVAL: text as is, whole numbers without
a decimal point (--SEQ 12 as "12")."""

from __future__ import annotations

import pandas as pd


def key_text(values: pd.Series) -> pd.Series:
    if not pd.api.types.is_numeric_dtype(values):
        return values.astype("str").str.strip()
    numbers = values.astype("float64")
    whole = numbers.notna() & numbers.eq(numbers.round()) & numbers.abs().lt(2.0**53)
    text = numbers.map(lambda v: f"{v:.15g}", na_action="ignore")
    return text.where(~whole, numbers.where(whole, 0).astype("int64").astype("str"))
