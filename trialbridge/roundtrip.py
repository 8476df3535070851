"""Compare two sets of SDTM datasets record by record and variable by variable."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialbridge.sdtm.dataset import Dataset


@dataclass
class Difference:
    domain: str
    usubjid: str
    seq: str
    variable: str
    before: object
    after: object

    def line(self) -> str:
        return (
            f"{self.domain} USUBJID={self.usubjid} {self.seq}: {self.variable} "
            f"{self.before!r} -> {self.after!r}"
        )


@dataclass
class DomainResult:
    domain: str
    records: int
    variables: int
    differences: list[Difference] = field(default_factory=list)
    in_extensions: list[str] = field(default_factory=list)  # no standard FHIR element

    @property
    def lossless(self) -> bool:
        return not self.differences


def compare(before: Dataset, after: Dataset | None) -> DomainResult:
    """Every variable of every record: missing on both sides counts as equal."""
    name = before.name
    frame = before.frame
    result = DomainResult(name, len(frame), len(frame.columns))
    if after is None:
        result.differences.append(Difference(name, "*", "*", "(dataset)", "present", "missing"))
        return result
    other = after.frame
    for column in frame.columns.union(other.columns, sort=False):
        if column not in frame or column not in other:
            side = "missing" if column not in other else "extra"
            result.differences.append(Difference(name, "*", "*", column, "variable", side))
    if len(frame) != len(other):
        result.differences.append(Difference(name, "*", "*", "(records)", len(frame), len(other)))
        return result
    seq = next((c for c in frame.columns if c == f"{name}SEQ"), None)
    for column in frame.columns.intersection(other.columns, sort=False):
        left, right = frame[column].reset_index(drop=True), other[column].reset_index(drop=True)
        both_missing = _missing(left) & _missing(right)
        equal = (left.astype(object) == right.astype(object)).fillna(False).astype(bool)
        bad = np.flatnonzero(~(equal | both_missing).to_numpy())
        for row in bad[:5]:
            result.differences.append(
                Difference(
                    name,
                    str(frame["USUBJID"].iat[row]) if "USUBJID" in frame else "-",
                    f"{seq}={frame[seq].iat[row]:g}" if seq else f"record {row + 1}",
                    column,
                    _plain(left.iat[row]),
                    _plain(right.iat[row]),
                )
            )
    return result


def _missing(values: pd.Series) -> pd.Series:
    """Missing, or blank text: SDTM (XPT) does not tell the two apart."""
    if pd.api.types.is_numeric_dtype(values):
        return values.isna()
    return values.isna() | values.astype(str).str.strip().eq("")


def _plain(value: object) -> object:
    return None if pd.isna(value) else value
