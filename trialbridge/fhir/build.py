"""SDTM datasets -> FHIR R4 resources (plain dicts) through the mapping tables."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.fhir import grouped
from trialbridge.fhir.codecs import place_datetime
from trialbridge.fhir.paths import set_path
from trialbridge.fhir.table import BASE, SDTM_VARIABLE, Element, Table, table
from trialbridge.sdtm.dataset import Dataset

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)
DATASET_TAG = f"{BASE}/CodeSystem/sdtm-dataset"
STUDY_TAG = f"{BASE}/CodeSystem/sdtm-study"
CARRIED = ("STUDYID", "DOMAIN")  # in meta.tag


def resource_id(*parts: Any) -> str:
    """A deterministic id from natural keys, so a re-run updates instead of duplicating."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


def key_text(values: pd.Series) -> pd.Series:
    """Natural-key values as id text: whole numbers without '.0' (--SEQ 3 -> '3')."""
    if pd.api.types.is_numeric_dtype(values):
        whole = values.notna() & (values == values.round())
        text = values.astype(str)
        return text.mask(whole, values.where(whole).astype("Int64").astype(str))
    return values.astype(str)


def study_resource_id(study_id: str) -> str:
    """The ResearchStudy that TS becomes (grouped, keyed by STUDYID)."""
    return resource_id(study_id, "ResearchStudy", "TS", study_id)


def patient_id(study_id: str, usubjid: str) -> str:
    return resource_id(study_id, "Patient", "DM", usubjid)


def build_dataset(dataset: Dataset, study_id: str) -> list[dict[str, Any]]:
    """One resource per record. Variables the table places go to their FHIR element; every
    other populated variable rides in an sdtm-variable extension, so nothing is dropped."""
    spec = table(dataset.name)
    if spec is None:
        raise UserError(f"no FHIR mapping table for {dataset.name}", "trialbridge/mappings/fhir")
    frame = dataset.frame
    if spec.group_by is not None:
        return _build_grouped(dataset, spec, study_id)
    placed = {e.var for e in spec.elements}
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    others = [v.name for v in dataset.variables if v.name not in placed and v.name not in CARRIED]
    encoded = {
        e.var: _encode(e, frame, study_id, dataset.name) for e in spec.elements if e.var in frame
    }
    for element in spec.elements:  # a default applies even when the variable is not there
        if element.var not in frame and element.default is not None:
            encoded[element.var] = [element.default] * len(frame)
    ids = [
        resource_id(study_id, spec.resource, dataset.name, *key)
        for key in zip(*(key_text(frame[v]) for v in spec.id_from), strict=True)
    ]
    lineage = dataset.lineage
    out = []
    for row in range(len(frame)):
        resource: dict[str, Any] = {"resourceType": spec.resource, "id": ids[row]}
        resource["meta"] = _meta(dataset.name, study_id, lineage, row)
        for path, value in spec.fixed.items():
            set_path(resource, path, copy.deepcopy(value))
        for element in spec.elements:
            if element.var in encoded:
                _place(resource, element, encoded[element.var][row])
        extensions = [
            _variable(name, frame.iat[row, frame.columns.get_loc(name)], name in numeric)
            for name in others
            if pd.notna(frame.iat[row, frame.columns.get_loc(name)])
        ]
        if extensions:
            resource.setdefault("extension", []).extend(extensions)
        out.append(resource)
    return out


def _build_grouped(dataset: Dataset, spec: Table, study_id: str) -> list[dict[str, Any]]:
    """One resource per group; the group's records ride whole in sdtm-record extensions."""
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    out = []
    for group in grouped.groups(dataset.frame, spec):
        first = group.iloc[[0]]
        key = [key_text(first[v]).iat[0] for v in spec.id_from]
        resource: dict[str, Any] = {
            "resourceType": spec.resource,
            "id": resource_id(study_id, spec.resource, dataset.name, *key),
            "meta": _meta(dataset.name, study_id, dataset.lineage.iloc[0:0], 0),
        }
        grouped.fill(resource, spec, group)
        for element in spec.elements:
            if element.var in first:
                _place(resource, element, _encode(element, first, study_id, dataset.name)[0])
        resource["extension"] = grouped.record_extensions(group, numeric)
        out.append(resource)
    return out


def _meta(domain: str, study_id: str, lineage: pd.DataFrame, row: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "tag": [{"system": DATASET_TAG, "code": domain}, {"system": STUDY_TAG, "code": study_id}]
    }
    if row < len(lineage) and pd.notna(lineage.iat[row, 0]):
        meta["source"] = f"{lineage.iat[row, 0]}#row={int(lineage.iat[row, 1])}"
    return meta


def _encode(element: Element, frame: pd.DataFrame, study_id: str, domain: str) -> list[Any]:
    """The column as FHIR values (None where the SDTM value is missing)."""
    values = frame[element.var]
    present = values.notna()
    if element.codec == "map":
        unknown = sorted(set(values[present]) - set(element.map))
        if unknown:
            raise UserError(
                f"{element.var} value '{unknown[0]}' has no FHIR mapping",
                f"trialbridge/mappings/fhir/{domain.lower()}.yaml",
                "add it to the table's map",
            )
        mapped = values.map(element.map)
        return [m if ok else element.default for m, ok in zip(mapped, present, strict=True)]
    if element.codec == "reference":
        return [
            {"reference": f"Patient/{patient_id(study_id, v)}"} if ok else None
            for v, ok in zip(values, present, strict=True)
        ]
    if element.codec == "study":
        return [
            {"reference": f"ResearchStudy/{study_resource_id(v)}"} if ok else None
            for v, ok in zip(values, present, strict=True)
        ]
    if element.codec == "integer":
        return [int(v) if ok else None for v, ok in zip(values, present, strict=True)]
    if element.codec == "decimal":
        return [float(v) if ok else None for v, ok in zip(values, present, strict=True)]
    if element.codec == "numeric-code":  # a number SDTM keeps as Num, FHIR as a code
        return [f"{v:.0f}" if ok else None for v, ok in zip(values, present, strict=True)]
    if element.codec == "dateTime":
        return values.astype(object).where(present, None).tolist()
    return values.astype(object).where(present, None).tolist()


def _place(resource: dict[str, Any], element: Element, value: Any) -> None:
    if value is None:
        return
    if element.codec == "dateTime":
        place_datetime(resource, element.path, value)
        return
    set_path(resource, element.path, value)
    if element.system:
        parent = element.path.rpartition(".")[0]
        set_path(resource, f"{parent}.system" if parent else "system", element.system)


def _variable(name: str, value: Any, numeric: bool) -> dict[str, Any]:
    typed = {"valueDecimal": float(value)} if numeric else {"valueString": str(value)}
    return {
        "url": SDTM_VARIABLE,
        "extension": [{"url": "name", "valueString": name}, {"url": "value", **typed}],
    }


def mapped_tables(names: list[str]) -> list[Table]:
    return [t for t in (table(n) for n in names) if t is not None]
