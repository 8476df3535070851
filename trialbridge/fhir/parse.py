"""FHIR R4 resources -> SDTM datasets through the same mapping tables used to build them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.fhir import grouped, relrec, supplemental
from trialbridge.fhir.build import DATASET_TAG, STUDY_TAG
from trialbridge.fhir.codecs import datetime_from_fhir
from trialbridge.fhir.paths import get_path
from trialbridge.fhir.table import SDTM_VARIABLE, Element, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta


def _tag(resource: dict[str, Any], system: str) -> str | None:
    for tag in resource.get("meta", {}).get("tag", []):
        if tag.get("system") == system:
            return tag.get("code")
    return None


def parse(resources: list[dict[str, Any]]) -> dict[str, Dataset]:
    """Group resources by their SDTM dataset tag and rebuild each dataset."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for resource in resources:
        domain = _tag(resource, DATASET_TAG)
        if domain is not None:
            groups.setdefault(domain, []).append(resource)
    # what a reference stands for in SDTM: a Patient its USUBJID, a Medication its name
    patients = {f"Patient/{r['id']}": _usubjid(r) for r in groups.get("DM", [])}
    patients |= {
        f"Medication/{r['id']}": get_path(r, "code.text")
        for r in resources
        if r.get("resourceType") == "Medication"
    }
    datasets = {domain: _dataset(domain, items, patients) for domain, items in groups.items()}
    for domain, items in groups.items():
        study_id = _tag(items[0], STUDY_TAG)
        owners = [(r, _owner(domain, r, patients)) for r in items]
        supp = supplemental.collect(domain, owners, study_id)
        if supp is not None:
            datasets[supp.name] = supp
    links = relrec.collect(
        [
            (r, d, _owner(d, r, patients), _tag(r, STUDY_TAG))
            for d, items in groups.items()
            for r in items
        ]
    )
    if links is not None:
        datasets["RELREC"] = links
    return datasets


def _owner(domain: str, resource: dict[str, Any], patients: dict[str, Any]) -> str | None:
    """The USUBJID a resource belongs to."""
    if domain == "DM":
        return _usubjid(resource)
    subject = resource.get("subject")
    return patients.get(subject.get("reference")) if isinstance(subject, dict) else None


def _usubjid(patient: dict[str, Any]) -> str | None:
    spec = table("DM")
    element = next(e for e in spec.elements if e.var == "USUBJID") if spec else None
    return get_path(patient, element.path) if element else None


def _dataset(domain: str, items: list[dict[str, Any]], patients: dict[str, Any]) -> Dataset:
    spec = table(domain)
    assert spec is not None
    if spec.group_by is not None:
        records = [record for resource in items for record in grouped.records(resource)]
    else:
        records = [_record(domain, resource, spec.elements, patients) for resource in items]
    frame = pd.DataFrame.from_records(records)
    meta = domain_meta(domain)
    for var in meta.variables:
        if var.name in frame and var.type == "Num":
            frame[var.name] = pd.to_numeric(frame[var.name]).astype("float64")
    # subject-level records in key order; trial-level ones (TS) keep the order they came in
    order = [k for k in ("USUBJID", f"{domain}SEQ") if k in frame] if "USUBJID" in frame else []
    frame = frame.sort_values(order, kind="stable", ignore_index=True) if order else frame
    return finalize(domain, meta, frame)


def _record(
    domain: str, resource: dict[str, Any], elements: list[Element], patients: dict[str, Any]
) -> dict[str, Any]:
    record: dict[str, Any] = {"STUDYID": _tag(resource, STUDY_TAG), "DOMAIN": domain}
    for element in elements:
        value = _decode(resource, element, patients)
        if value is not None:
            record[element.var] = value
    for ext in resource.get("extension", []):
        if ext.get("url") == SDTM_VARIABLE:
            parts = {e["url"]: e for e in ext.get("extension", [])}
            value = parts["value"].get("valueString", parts["value"].get("valueDecimal"))
            record[parts["name"]["valueString"]] = value
    return record


def _extension_text(resource: dict[str, Any], url: str | None) -> str | None:
    for ext in resource.get("extension", []):
        if ext.get("url") == url:
            for part in ext.get("extension", []):
                if part.get("url") == "text":
                    return part.get("valueString")
    return None


def _decode(resource: dict[str, Any], element: Element, patients: dict[str, Any]) -> Any:
    if element.codec == "coded-extension":
        return _extension_text(resource, element.url)
    value = get_path(resource, element.path)
    if element.codec in ("reference", "medication"):
        return patients.get(value.get("reference")) if isinstance(value, dict) else None
    if element.codec == "map":
        if value is None or (element.default is not None and value == element.default):
            return None
        reverse = {v: k for k, v in element.map.items()}
        return reverse.get(value, value)
    if element.codec == "numeric-code":
        return float(value) if value is not None else None
    if element.codec == "dateTime":
        parent, _, name = element.path.rpartition(".")
        holder = get_path(resource, f"{parent}._{name}" if parent else f"_{name}")
        extension = holder.get("extension") if isinstance(holder, dict) else None
        return datetime_from_fhir(value, extension)
    return value
