"""RELREC as references: each RELREC record rides on the resource of the record it names,
with references to the other records of the same relationship; parsing rebuilds RELREC."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trialbridge.errors import UserError
from trialbridge.fhir import render
from trialbridge.fhir.build import Built
from trialbridge.fhir.ids import key_text, resource_id
from trialbridge.fhir.table import BASE, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta

RELATED = f"{BASE}/StructureDefinition/sdtm-relrec"
FIELDS = ("RELID", "RELTYPE", "IDVAR", "IDVARVAL")


def _target(
    record: dict[str, Any], built: dict[str, Built], positions: dict[str, pd.Index], study_id: str
) -> tuple[str, int]:
    """The dataset and record of the resource a RELREC record names: the record's own
    resource, or for a grouped table (DS) the resource holding the subject's records."""
    domain = record["RDOMAIN"]
    spec = table(domain)
    grouped = spec is not None and spec.group_by == ["USUBJID"]
    if spec is None or (not grouped and record.get("IDVAR") != f"{domain}SEQ"):
        raise UserError(
            f"RELREC: links to {domain} by {record.get('IDVAR')} cannot be expressed in FHIR yet",
            "RELREC",
            "link records by --SEQ",
        )
    key = [record["USUBJID"]]
    if not grouped:
        seq = pd.to_numeric(pd.Series([record["IDVARVAL"]]), errors="coerce")
        if seq.isna().all():
            raise UserError(
                f"IDVARVAL '{record['IDVARVAL']}' is not a {domain}SEQ number", "RELREC"
            )
        key.append(key_text(seq)[0].as_py())
    for name, one in built.items():
        if one.sdtm_domain == domain:
            if name not in positions:  # made once per dataset, not once per RELREC record
                positions[name] = pd.Index(one.ids.to_pylist())
            row = positions[name].get_indexer([resource_id(study_id, spec.resource, name, *key)])[0]
            if row >= 0:
                return name, int(row)
    raise UserError(f"RELREC names {domain} {' '.join(key)}, which was not built", "RELREC")


def attach(relrec: Dataset, built: dict[str, Built], study_id: str) -> int:
    """Each RELREC record on the resource it names, with references to its partners."""
    records = relrec.frame.reset_index(drop=True).to_dict("records")
    positions: dict[str, pd.Index] = {}
    found = [_target(r, built, positions, study_id) for r in records]
    targets = [f"{built[name].resource}/{built[name].ids[row].as_py()}" for name, row in found]
    members: dict[tuple[Any, Any], list[str]] = {}
    for record, target in zip(records, targets, strict=True):
        members.setdefault((record["USUBJID"], record["RELID"]), []).append(target)
    placed: dict[str, list[tuple[int, str]]] = {}
    for position, (record, (name, row)) in enumerate(zip(records, found, strict=True)):
        target = targets[position]
        group = members[(record["USUBJID"], record["RELID"])]
        partners = [t for t in group if t != target]
        placed.setdefault(name, []).append((row, _extension(record, position, partners)))
    for name, items in placed.items():
        rows = np.array([row for row, _ in items], dtype=np.int64)
        fragments = pa.array([text for _, text in items], pa.large_string())
        built[name].add_extensions(render.scatter(rows, fragments, len(built[name].ids)))
    return len(records)


def _extension(record: dict[str, Any], position: int, partners: list[str]) -> str:
    parts: list[dict[str, Any]] = [
        {"url": name, "valueString": str(record[name])}
        for name in FIELDS
        if pd.notna(record.get(name))
    ]
    parts.append({"url": "order", "valueInteger": position + 1})
    parts += [{"url": "related", "valueReference": {"reference": t}} for t in partners]
    extension = {"url": RELATED, "extension": parts}
    return json.dumps(extension, separators=(",", ":"), ensure_ascii=False)


def collect(owned: list[tuple[dict[str, Any], str, str | None, str | None]]) -> Dataset | None:
    """RELREC from (resource, its SDTM domain, USUBJID, STUDYID) carrying sdtm-relrec."""
    rows = []
    for resource, domain, usubjid, study_id in owned:
        for ext in resource.get("extension", []):
            if ext.get("url") != RELATED:
                continue
            parts = {p["url"]: p for p in ext.get("extension", []) if p["url"] != "related"}
            row = {"STUDYID": study_id, "RDOMAIN": domain, "USUBJID": usubjid}
            row |= {name: parts[name]["valueString"] for name in FIELDS if name in parts}
            row["__order"] = parts["order"]["valueInteger"]
            rows.append(row)
    if not rows:
        return None
    frame = pd.DataFrame(rows).sort_values("__order", ignore_index=True).drop(columns="__order")
    return finalize("RELREC", domain_meta("RELREC"), frame)
