"""A rule's fixture (datasets written as columns of values in its YAML) as Datasets, typed by
the SDTMIG metadata where the domain has some (Num variables as numbers)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.sdtm.dataset import Column, Dataset, Table
from trialbridge.sdtm.metadata import domain_meta, standard_domains
from trialbridge.sdtm.read import dataset_from_table


def datasets(spec: dict[str, dict[str, Any]]) -> dict[str, Dataset]:
    return {name: _dataset(name, columns) for name, columns in spec.items()}


def _dataset(name: str, spec: dict[str, Any]) -> Dataset:
    labels = spec.get("_labels", {})
    columns = {k: v for k, v in spec.items() if k != "_labels"}
    known = name in standard_domains() or name.startswith("SUPP")
    types = {v.name: v.type for v in domain_meta(name).variables} if known else {}
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    described = []
    for column in frame.columns:
        numeric = types.get(column) == "Num"
        if numeric:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        else:
            frame[column] = frame[column].astype("str").where(frame[column].notna())
        kind = "Num" if numeric else "Char"
        label = labels.get(column, "")
        described.append(Column(column, label, kind, 8, "double" if numeric else "string"))
    return dataset_from_table(Table(name, "", frame, described))
