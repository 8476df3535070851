"""JSON text for whole columns, without a Python object per value: a million-record dataset
is written as Arrow string arrays joined column-wise, then row-wise.

Numbers are the shortest text that reads back as the same double (Arrow's ECMAScript
formatting, which JSON shares); -0 keeps its sign as -0.0. Text is escaped by the standard
library's encoder, once per distinct value; characters beyond ASCII are written as UTF-8."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NULL = "null"


def text_column(values: pd.Series) -> pa.Array:
    """JSON strings ("..." or null) for a text column: each distinct value escaped once, by
    the standard library's encoder, then spread by the dictionary codes."""
    encoded = pc.dictionary_encode(pa.array(values, type=pa.large_string(), from_pandas=True))
    distinct = encoded.dictionary.to_pylist()
    fragments = pa.array([json.dumps(v, ensure_ascii=False) for v in distinct], pa.large_string())
    return fragments.take(encoded.indices).fill_null(NULL)


def number_column(values: pd.Series, integer: bool) -> pa.Array:
    """JSON numbers (or null) for a numeric column; integers without a fraction."""
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    array = pa.array(floats, from_pandas=True)
    if integer:
        return pc.cast(pc.cast(array, pa.int64()), pa.large_string()).fill_null(NULL)
    text = pc.cast(array, pa.large_string())
    negative_zero = (floats == 0) & np.signbit(floats)
    if negative_zero.any():
        text = pc.if_else(pa.array(negative_zero), "-0.0", text)
    return text.fill_null(NULL)


def rows(columns: list[pa.Array], count: int, separator: str) -> bytes:
    """The rows as JSON arrays, each followed by `separator` but the last: the joined
    fragments' character buffer is exactly that text, so no Python string is made per row."""
    if count == 0:
        return b""
    if not columns:
        return separator.join(["[]"] * count).encode()
    columns = [c.cast(pa.large_string()) for c in columns]

    def text(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    joined = pc.binary_join_element_wise(*columns, text(","))
    framed = pc.binary_join_element_wise(text("["), joined, text("]" + separator), text(""))
    offsets = np.frombuffer(framed.buffers()[1], dtype=np.int64)[framed.offset :]
    start, end = int(offsets[0]), int(offsets[len(framed)])
    text = framed.buffers()[2][start:end].to_pybytes()
    return text[: len(text) - len(separator.encode())]
