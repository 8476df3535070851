"""SUPP-- qualifiers named like a standard variable of their parent domain: such data
belongs in the parent dataset, not in SUPP--."""

from __future__ import annotations

import pandas as pd

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("supp_qnam")
def supp_qnam(context: Context) -> list[Issue]:
    frame = context.frame
    if "QNAM" not in frame or "RDOMAIN" not in frame:
        return []
    standard = {
        (domain, v.name) for domain, meta in standard_domains().items() for v in meta.variables
    }
    pairs = zip(frame["RDOMAIN"], frame["QNAM"], strict=True)
    clash = pd.Series([pair in standard for pair in pairs], index=frame.index, dtype=bool)
    return rows(clash, "QNAM", frame["QNAM"])
