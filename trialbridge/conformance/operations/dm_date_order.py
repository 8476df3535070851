"""Record dates that fall before (`relation: before`) or after (`relation: after`) the
subject's DM date `reference` on the precision both have: an adverse event before birth, an
exposure after the last treatment date."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.dates import later
from trialbridge.conformance.operations import operation


@operation("dm_date_order")
def dm_date_order(
    context: Context, date: str, reference: str, relation: Literal["before", "after"]
) -> list[Issue]:
    values = context.column(date)
    per_subject = context.by_subject(reference)
    if values is None or per_subject is None or "USUBJID" not in context.frame:
        return []
    subjects = context.frame["USUBJID"]
    if not isinstance(values.dtype, pd.StringDtype):
        wrong = _wrong(subjects.map(per_subject), values, relation)
        return rows(wrong, context.name(date), values)
    # a subject's records share a handful of dates: each (subject, date) is compared once
    subject_codes = pd.factorize(subjects, use_na_sentinel=False)[0].astype("int64")
    date_codes, dates = pd.factorize(values, use_na_sentinel=False)
    pairs = pd.factorize(subject_codes * len(dates) + date_codes)[0]
    first = np.flatnonzero(~pd.Series(pairs).duplicated().to_numpy())
    wrong = _wrong(subjects.iloc[first].map(per_subject), values.iloc[first], relation)
    return rows(pd.Series(wrong.to_numpy()[pairs], index=values.index), context.name(date), values)


def _wrong(theirs: pd.Series, values: pd.Series, relation: str) -> pd.Series:
    return later(theirs, values) if relation == "before" else later(values, theirs)
