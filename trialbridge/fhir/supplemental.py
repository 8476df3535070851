"""SUPP-- records ride on their parent resource as sdtm-supplemental extensions, and come
back as the SUPP-- dataset."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.fhir.build import resource_id
from trialbridge.fhir.table import BASE, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta

SUPPLEMENTAL = f"{BASE}/StructureDefinition/sdtm-supplemental"
FIELDS = ("IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


def attach(supp: Dataset, resources: dict[str, dict[str, Any]], study_id: str) -> int:
    """Add each SUPP record to its parent (by the parent's id); returns the records placed."""
    frame = supp.frame
    for row in frame.itertuples(index=False):
        record = row._asdict()
        parent_domain = record["RDOMAIN"]
        spec = table(parent_domain)
        if spec is None:
            raise UserError(
                f"{supp.name}: no FHIR mapping for parent domain {parent_domain}", supp.name
            )
        key = [record["USUBJID"]] + (
            [f"{float(record['IDVARVAL']):g}"] if isinstance(record.get("IDVARVAL"), str) else []
        )
        parent = resources.get(resource_id(study_id, spec.resource, parent_domain, *key))
        if parent is None:
            raise UserError(
                f"{supp.name}: no {parent_domain} record {record['USUBJID']} "
                f"{record.get('IDVAR') or ''}={record.get('IDVARVAL') or ''}",
                supp.name,
            )
        parts = [
            {"url": name, "valueString": str(record[name])}
            for name in FIELDS
            if name in record and pd.notna(record[name])
        ]
        parent.setdefault("extension", []).append({"url": SUPPLEMENTAL, "extension": parts})
    return len(frame)


def collect(
    domain: str, items: list[tuple[dict[str, Any], str | None]], study_id: str | None
) -> Dataset | None:
    """SUPP<domain> from the parents' extensions; items are (resource, USUBJID)."""
    rows = []
    for resource, usubjid in items:
        for ext in resource.get("extension", []):
            if ext.get("url") == SUPPLEMENTAL:
                parts = {e["url"]: e.get("valueString") for e in ext.get("extension", [])}
                rows.append({"STUDYID": study_id, "RDOMAIN": domain, "USUBJID": usubjid, **parts})
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    order = pd.to_numeric(frame.get("IDVARVAL"), errors="coerce") if "IDVARVAL" in frame else 0
    frame = frame.assign(__order=order).sort_values(
        ["USUBJID", "__order", "QNAM"], kind="stable", ignore_index=True
    )
    name = f"SUPP{domain}"
    return finalize(name, domain_meta(name), frame.drop(columns="__order"))
