"""The column-wise Dataset-JSON rows against the reference path: each row parsed back equals
what the standard library's encoder would have written for the same values (hypothesis
draws the frames: any text, control characters and quotes included, missing values, 0 and
-0, tiny and huge numbers, integers)."""

import json
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from trialbridge.sdtm import json_text

TEXT = st.one_of(st.none(), st.text(max_size=12))
DOUBLE = st.one_of(
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-5, 1e21, 0.1 + 0.2]),
)
INTEGER = st.one_of(st.none(), st.integers(min_value=-(2**53), max_value=2**53))


@st.composite
def columns(draw: st.DrawFn) -> tuple[list[list[object]], list[str]]:
    kinds = draw(st.lists(st.sampled_from(["text", "double", "integer"]), min_size=1, max_size=6))
    rows = draw(st.integers(min_value=1, max_value=20))
    strategy = {"text": TEXT, "double": DOUBLE, "integer": INTEGER}
    return [draw(st.lists(strategy[k], min_size=rows, max_size=rows)) for k in kinds], kinds


def _fragments(values: list[object], kind: str):
    if kind == "text":
        return json_text.text_column(pd.Series(values, dtype="str"))
    floats = pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    return json_text.number_column(floats, kind == "integer")


@settings(max_examples=200, deadline=None)
@given(columns())
def test_rows_read_back_as_the_reference_encoder_writes_them(drawn):
    data, kinds = drawn
    body = json_text.rows(
        [_fragments(v, k) for v, k in zip(data, kinds, strict=True)], len(data[0]), "\n"
    )
    parsed = [json.loads(line) for line in body.decode("utf-8").split("\n")]
    expected = [json.loads(json.dumps(list(row))) for row in zip(*data, strict=True)]
    assert len(parsed) == len(expected)
    for got, want in zip(parsed, expected, strict=True):
        for value, reference, kind in zip(got, want, kinds, strict=True):
            if reference is None:
                assert value is None
            elif kind == "text":
                assert value == reference
            else:
                assert float(value) == float(reference)
                assert math.copysign(1, float(value)) == math.copysign(1, float(reference))
                if kind == "integer":
                    assert isinstance(value, int) and value == reference
