"""A domain dataset: the frame in metadata order, its variable metadata, and row lineage."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trialbridge.converters.sources import LINEAGE
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta


@dataclass
class Dataset:
    """What every writer and validator works from. `lineage` is aligned with `frame` rows."""

    name: str
    label: str
    meta: DomainMeta
    variables: list[VariableMeta]
    frame: pd.DataFrame
    lineage: pd.DataFrame

    @property
    def filename_stem(self) -> str:
        return self.name.lower()

    @property
    def subjects(self) -> int:
        return int(self.frame["USUBJID"].nunique()) if "USUBJID" in self.frame else 0


def finalize(name: str, meta: DomainMeta, frame: pd.DataFrame) -> Dataset:
    """Keep Req and Exp variables always (empty if not collected), Perm ones when populated;
    order by the metadata; Num as float64, Char as text with NA for missing."""
    kept: list[VariableMeta] = []
    columns: dict[str, pd.Series] = {}
    for var in meta.variables:
        present = var.name in frame and frame[var.name].notna().any()
        if not present and var.core == "Perm":
            continue
        values = frame[var.name] if var.name in frame else pd.Series(pd.NA, index=frame.index)
        columns[var.name] = _typed(values, var)
        kept.append(var)
    data = pd.DataFrame(columns, index=frame.index).reset_index(drop=True)
    lineage = (
        frame[list(LINEAGE)].reset_index(drop=True)
        if set(LINEAGE) <= set(frame)
        else (pd.DataFrame(index=data.index, columns=list(LINEAGE)))
    )
    return Dataset(
        name=name, label=meta.label, meta=meta, variables=kept, frame=data, lineage=lineage
    )


def _typed(values: pd.Series, var: VariableMeta) -> pd.Series:
    if var.type == "Num":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.astype("str").where(values.notna())
