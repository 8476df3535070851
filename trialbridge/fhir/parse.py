"""FHIR R4 resources -> SDTM datasets through the same mapping tables used to build them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from trialbridge.bulk import collector_paused
from trialbridge.fhir import definition, grouped, relrec, supplemental
from trialbridge.fhir.build import DATASET_TAG, DOMAIN_TAG, STUDY_TAG
from trialbridge.fhir.codecs import datetime_from_fhir
from trialbridge.fhir.grouped import ORDER
from trialbridge.fhir.paths import get_path
from trialbridge.fhir.table import SDTM_ORDER, SDTM_VARIABLE, Element, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, domain_meta, standard_domains


def _tag(resource: dict[str, Any], system: str) -> str | None:
    for tag in resource.get("meta", {}).get("tag", []):
        if tag.get("system") == system:
            return tag.get("code")
    return None


def parse(resources: list[dict[str, Any]]) -> dict[str, Dataset]:
    """Group resources by their SDTM dataset tag and rebuild each dataset."""
    with collector_paused():
        return _parse(resources)


def _parse(resources: list[dict[str, Any]]) -> dict[str, Dataset]:
    groups: dict[str, list[dict[str, Any]]] = {}
    domains: dict[str, str] = {}  # dataset name -> SDTM domain (LBCH -> LB)
    definitions = {}
    for resource in resources:
        name = _tag(resource, DATASET_TAG)
        if definition.is_definition(resource):
            definitions[name] = definition.read(resource)
            domains.setdefault(name, _tag(resource, DOMAIN_TAG) or name)
        elif name is not None:
            groups.setdefault(name, []).append(resource)
            domains.setdefault(name, _tag(resource, DOMAIN_TAG) or name)
    # what a reference stands for in SDTM: a Patient its USUBJID, a Medication its name
    patients = {f"Patient/{r['id']}": _usubjid(r) for r in groups.get("DM", [])}
    patients |= {
        f"Medication/{r['id']}": get_path(r, "code.text")
        for r in resources
        if r.get("resourceType") == "Medication"
    }
    datasets = {
        name: _dataset(name, domains[name], items, patients) for name, items in groups.items()
    }
    for name in definitions.keys() - datasets.keys():  # a dataset without records
        if table(domains[name]) is not None and not name.startswith("SUPP") and name != "RELREC":
            datasets[name] = _dataset(name, domains[name], [], patients)
    for name, items in groups.items():
        study_id = _tag(items[0], STUDY_TAG)
        owners = [(r, _owner(domains[name], r, patients)) for r in items]
        supp = supplemental.collect(name, domains[name], owners, study_id)
        if supp is not None:
            datasets[supp.name] = supp
    links = relrec.collect(
        [
            (r, domains[name], _owner(domains[name], r, patients), _tag(r, STUDY_TAG))
            for name, items in groups.items()
            for r in items
        ]
    )
    if links is not None:
        datasets["RELREC"] = links
    return {
        name: definition.apply(d, definitions[name]) if name in definitions else d
        for name, d in datasets.items()
    }


def _owner(domain: str, resource: dict[str, Any], patients: dict[str, Any]) -> str | None:
    """The USUBJID a resource belongs to: the Patient it refers to (subject, individual...)."""
    if domain == "DM":
        return _usubjid(resource)
    spec = table(domain)
    for element in spec.elements if spec else []:
        if element.var == "USUBJID" and element.codec == "reference":
            subject = get_path(resource, element.path)
            return patients.get(subject.get("reference")) if isinstance(subject, dict) else None
    return None


def _usubjid(patient: dict[str, Any]) -> str | None:
    spec = table("DM")
    element = next(e for e in spec.elements if e.var == "USUBJID") if spec else None
    return get_path(patient, element.path) if element else None


def _dataset(
    name: str, domain: str, items: list[dict[str, Any]], patients: dict[str, Any]
) -> Dataset:
    spec = table(domain)
    assert spec is not None
    if spec.group_by is not None:
        records = [record for resource in items for record in grouped.records(resource)]
    else:
        records = [_record(domain, resource, spec.elements, patients) for resource in items]
    frame = pd.DataFrame.from_records(records)
    meta = _meta(domain)
    for var in meta.variables:
        if var.name in frame and var.type == "Num":
            frame[var.name] = pd.to_numeric(frame[var.name]).astype("float64")
    if ORDER in frame:  # the sponsor's record order, whatever order the resources came in
        frame = frame.sort_values(ORDER, kind="stable", ignore_index=True).drop(columns=ORDER)
    return with_extra_variables(finalize(name, meta, frame), frame)


def _meta(domain: str) -> DomainMeta:
    """SDTMIG metadata where trialbridge ships it; else none (the dataset definition that
    travels with the resources gives the variables)."""
    if domain in standard_domains():
        return domain_meta(domain)
    return DomainMeta(
        domain=domain, label=domain, dataset_class="", structure="", keys=(), variables=()
    )


def with_extra_variables(dataset: Dataset, frame: pd.DataFrame) -> Dataset:
    """The dataset with the variables its SDTMIG domain does not define (a sponsor's AEDTC),
    after the standard ones; numbers where the values are numbers."""
    extra = [c for c in frame.columns if c not in dataset.frame]
    if not extra:
        return dataset
    variables = list(dataset.variables)
    columns = {}
    for position, name in enumerate(extra, len(variables) + 1):
        numeric = pd.api.types.is_numeric_dtype(frame[name])
        columns[name] = (
            frame[name] if numeric else frame[name].astype("str").where(frame[name].notna())
        )
        variables.append(
            VariableMeta(
                domain=dataset.name,
                order=position,
                name=name,
                label=name,
                type="Num" if numeric else "Char",
                codelist=None,
                format=None,
                role="",
                core="Perm",
            )
        )
    data = pd.concat([dataset.frame, pd.DataFrame(columns)], axis=1)
    return replace(dataset, frame=data, variables=variables)


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
        elif ext.get("url") == SDTM_ORDER:
            record[ORDER] = ext.get("valueInteger")
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
