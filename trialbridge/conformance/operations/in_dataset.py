"""Records (meeting `when`, with every `when_empty` variable empty or absent) whose
`variable` is not among the values of `column` (the same name unless given) in `dataset`: a visit
number SV does not have, a planned visit TV does not list. When both datasets have USUBJID
the value must be among the same subject's values (a visit of another subject does not
count). Numbers stored as text are compared as numbers where the other side holds numbers,
to 9 decimals."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.conformance.conditions import applies, numbers, populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("in_dataset")
def in_dataset(
    context: Context,
    variable: str,
    dataset: str,
    column: str | None = None,
    when: dict[str, Any] | None = None,
    when_empty: list[str] | None = None,
) -> list[Issue]:
    values = context.column(variable)
    target = context.datasets.get(dataset)
    wanted = column or context.name(variable)
    if values is None or target is None or wanted not in target.frame:
        return []
    condition = applies(context, when)
    if condition is None:
        return []
    for name in when_empty or []:  # an absent variable is empty in every record
        given = context.column(name)
        if given is not None:
            condition &= ~populated(given)
    theirs = target.frame[wanted]
    if values.dtype.kind in "biufc" or theirs.dtype.kind in "biufc":
        # rounded: a transport file's IBM floats read 1.2 back as 1.2000000000000002
        mine, theirs = numbers(values).round(9), numbers(theirs).round(9)
    else:
        mine, theirs = values.astype("object"), theirs.astype("object")
    subjects = "USUBJID" in context.frame and "USUBJID" in target.frame
    if subjects:
        pairs = pd.DataFrame({"s": target.frame["USUBJID"].astype("object"), "v": theirs})
        known = pd.MultiIndex.from_frame(pairs.dropna())
        keys = pd.MultiIndex.from_arrays([context.frame["USUBJID"].astype("object"), mine])
        found = pd.Series(keys.isin(known), index=values.index)
    else:
        found = mine.isin(set(theirs.dropna()))
    return rows(condition & populated(values) & ~found, context.name(variable), values)
