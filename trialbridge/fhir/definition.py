"""Each dataset's own description rides in a Basic resource: its label and its variables in
order (name, label, type). Parsing gives back exactly the variables the dataset had, in its
order and with its labels: also those no record fills, and a sponsor's own variables."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from trialbridge.fhir.ids import resource_id
from trialbridge.fhir.table import BASE
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.metadata import VariableMeta

SDTM_DATASET = f"{BASE}/StructureDefinition/sdtm-dataset"
KIND = f"{BASE}/CodeSystem/sdtm-resource"


@dataclass(frozen=True)
class Definition:
    label: str
    variables: list[tuple[str, str, str]]  # name, label, Char/Num


def build(dataset: Dataset, study_id: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    variables = [
        {
            "url": "variable",
            "extension": [
                {"url": "name", "valueString": v.name},
                *([{"url": "label", "valueString": v.label}] if v.label else []),
                {"url": "type", "valueString": v.type},
            ],
        }
        for v in dataset.variables
    ]
    label = [{"url": "label", "valueString": dataset.label}] if dataset.label else []
    # the count lets a reader tell a dataset that came whole from one that lost records
    records = [{"url": "records", "valueInteger": len(dataset.frame)}]
    return {
        "resourceType": "Basic",
        "id": resource_id(study_id, "Basic", dataset.name),
        "meta": {"tag": tags},
        "code": {"coding": [{"system": KIND, "code": "dataset"}], "text": "SDTM dataset"},
        "extension": [{"url": SDTM_DATASET, "extension": [*label, *records, *variables]}],
    }


def is_definition(resource: dict[str, Any]) -> bool:
    return resource.get("resourceType") == "Basic" and any(
        c.get("system") == KIND for c in resource.get("code", {}).get("coding", [])
    )


def read(resource: dict[str, Any]) -> Definition:
    label = ""
    variables = []
    for ext in resource.get("extension", []):
        if ext.get("url") != SDTM_DATASET:
            continue
        for part in ext.get("extension", []):
            if part.get("url") == "label":
                label = part.get("valueString", "")
            elif part.get("url") == "variable":
                fields = {p["url"]: p.get("valueString", "") for p in part.get("extension", [])}
                variables.append((fields["name"], fields.get("label", ""), fields["type"]))
    return Definition(label, variables)


def apply(dataset: Dataset, definition: Definition) -> Dataset:
    """The dataset with exactly the defined variables, in their order, types and labels."""
    known = {v.name: v for v in dataset.variables}
    frame = dataset.frame
    columns: dict[str, pd.Series] = {}
    variables = []
    for order, (name, label, kind) in enumerate(definition.variables, 1):
        values = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        if kind == "Num":
            columns[name] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            columns[name] = values.astype("str").where(values.notna())
        base = known.get(name) or VariableMeta(
            domain=dataset.name,
            order=order,
            name=name,
            label=label,
            type=kind,
            codelist=None,
            format=None,
            role="",
            core="Perm",
        )
        variables.append(base.model_copy(update={"label": label, "type": kind, "order": order}))
    data = pd.DataFrame(columns, index=frame.index)
    return replace(
        dataset, frame=data, variables=variables, label=definition.label or dataset.label
    )
