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


def _target(record: dict[str, Any], study_id: str) -> str:
    """Type/id of the resource a RELREC record names (record level, by --SEQ)."""
    domain = record["RDOMAIN"]
    spec = table(domain)
    if spec is None or spec.group_by is not None or record.get("IDVAR") != f"{domain}SEQ":
        raise UserError(
            f"RELREC: links to {domain} by {record.get('IDVAR')} cannot be expressed in FHIR yet",
            "RELREC",
            "link records by --SEQ",
        )
    seq = key_text(pd.Series([float(record["IDVARVAL"])]))[0].as_py()
    return f"{spec.resource}/{resource_id(study_id, spec.resource, domain, record['USUBJID'], seq)}"


def attach(relrec: Dataset, built: dict[str, Built], study_id: str) -> int:
    """Each RELREC record on the resource it names, with references to its partners."""
    frame = relrec.frame.reset_index(drop=True)
    records = frame.to_dict("records")
    targets = [_target(r, study_id) for r in records]
    placed: dict[str, list[tuple[int, str]]] = {}
    for position, (record, target) in enumerate(zip(records, targets, strict=True)):
        domain = record["RDOMAIN"]
        ids = built[domain].ids.to_pylist() if domain in built else []
        rows = pd.Index(ids).get_indexer([target.split("/", 1)[1]])
        if rows[0] < 0:
            raise UserError(
                f"RELREC record {position + 1} names {target}, which was not built", "RELREC"
            )
        partners = [
            t
            for r, t in zip(records, targets, strict=True)
            if r["USUBJID"] == record["USUBJID"] and r["RELID"] == record["RELID"] and t != target
        ]
        placed.setdefault(domain, []).append((int(rows[0]), _extension(record, position, partners)))
    for domain, items in placed.items():
        rows = np.array([row for row, _ in items], dtype=np.int64)
        fragments = pa.array([text for _, text in items], pa.large_string())
        built[domain].add_extensions(render.scatter(rows, fragments, len(built[domain].ids)))
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
