"""SUPP-- records whose IDVAR is not a variable of their parent dataset (RDOMAIN)."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("supp_idvar")
def supp_idvar(context: Context) -> list[Issue]:
    frame = context.frame
    if "IDVAR" not in frame or "RDOMAIN" not in frame:
        return []
    columns = {n: set(d.frame.columns) for n, d in context.datasets.items()}
    pairs = zip(frame["RDOMAIN"], frame["IDVAR"], strict=True)
    unknown = pd.Series(
        [domain in columns and idvar not in columns[domain] for domain, idvar in pairs],
        index=frame.index,
        dtype=bool,
    )
    return rows(populated(frame["IDVAR"]) & unknown, "IDVAR", frame["IDVAR"])
