"""SUPP-- records ride on their parent resource as sdtm-supplemental extensions, and come
back as the SUPP-- dataset."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.errors import UserError
from trialbridge.fhir import render
from trialbridge.fhir.build import Built
from trialbridge.fhir.ids import key_text, resource_ids
from trialbridge.fhir.table import BASE, Table, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta

SUPPLEMENTAL = f"{BASE}/StructureDefinition/sdtm-supplemental"
FIELDS = ("IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


def attach(
    supp: Dataset, parent_frame: pd.DataFrame, built: dict[str, Built], study_id: str
) -> int:
    """Add each SUPP record to its parent resource; returns the records placed."""
    frame = supp.frame.reset_index(drop=True)
    parent = built.get(supp.name[4:])  # SUPPLBCH qualifies the split dataset LBCH
    spec = table(parent.sdtm_domain) if parent is not None else None
    if parent is None or spec is None:
        raise UserError(f"no FHIR resources for the parent dataset {supp.name[4:]}", supp.name)
    if spec.group_by is not None:
        _check_records(supp.name, frame, parent_frame)
    rows = _parent_rows(supp.name, frame, parent, spec, study_id)
    parent.add_extensions(render.scatter(rows, _extensions(frame), len(parent.ids)))
    return len(frame)


def _parent_rows(
    name: str, records: pd.DataFrame, parent: Built, spec: Table, study_id: str
) -> np.ndarray:
    """The parent record of each SUPP record, by the parent's resource id."""
    keys = [records["USUBJID"]]
    if spec.group_by is None and len(spec.id_from) > 1:
        wrong = records["IDVAR"].ne(spec.id_from[-1]) | records["IDVAR"].isna()
        if wrong.any():
            row = records.index[wrong.to_numpy()][0]
            raise UserError(
                f"IDVAR '{records.at[row, 'IDVAR']}' cannot be placed on a {spec.resource}; "
                f"FHIR links SUPP{parent.dataset} records by {spec.id_from[-1]}",
                f"{name}, row {row + 1}",
            )
        keys.append(pd.to_numeric(records["IDVARVAL"], errors="coerce"))
    ids = resource_ids([study_id, spec.resource, parent.dataset], keys)
    rows = pc.fill_null(pc.index_in(ids, value_set=parent.ids), -1).to_numpy()
    if (rows < 0).any():
        row = records.index[int(np.flatnonzero(rows < 0)[0])]
        raise UserError(
            f"no {parent.dataset} record {records.at[row, 'USUBJID']} "
            f"{records.at[row, 'IDVAR'] or ''}={records.at[row, 'IDVARVAL'] or ''}",
            f"{name}, row {row + 1}",
            "every SUPP-- record needs its parent record",
        )
    return rows


def _check_records(name: str, frame: pd.DataFrame, parent: pd.DataFrame) -> None:
    """For a parent whose resource holds many records (DS), each SUPP record must still name
    one of them: USUBJID with IDVAR = IDVARVAL (or no IDVAR, for the subject)."""
    for idvar, records in frame.groupby(frame["IDVAR"].fillna(""), sort=False):
        if idvar == "":
            continue
        if idvar not in parent:
            row = int(records.index[0])
            raise UserError(
                f"IDVAR '{idvar}' is not a variable of {name[4:]}", f"{name}, row {row + 1}"
            )
        known = set(zip(parent["USUBJID"], key_text(parent[idvar]).to_pylist(), strict=True))
        wanted = key_text(pd.to_numeric(records["IDVARVAL"], errors="coerce"))
        if not pd.api.types.is_numeric_dtype(parent[idvar]):
            wanted = key_text(records["IDVARVAL"])
        for row, usubjid, value in zip(
            records.index, records["USUBJID"], wanted.to_pylist(), strict=True
        ):
            if (usubjid, value) not in known:
                raise UserError(
                    f"no {name[4:]} record {usubjid} {idvar}={records.at[row, 'IDVARVAL']}",
                    f"{name}, row {int(row) + 1}",
                    "every SUPP-- record needs its parent record",
                )


def _extensions(records: pd.DataFrame) -> pa.Array:
    """One sdtm-supplemental extension per SUPP record, with its position in SUPP--."""
    parts = [
        render.wrap_each(
            f'{{"url":"{name}","valueString":',
            render.strings(render.text_column(records[name])),
            "}",
        )
        for name in FIELDS
        if name in records
    ]
    position = render.numbers(np.arange(1, len(records) + 1, dtype=np.float64))
    parts.append(render.wrap_each('{"url":"order","valueInteger":', position, "}"))
    return render.wrap_each(
        f'{{"url":"{SUPPLEMENTAL}","extension":[', render.join_columns(parts), "]}"
    )


def collect(
    name: str, domain: str, items: list[tuple[dict[str, Any], str | None]], study_id: str | None
) -> Dataset | None:
    """SUPP<name> from the parents' extensions; items are (resource, USUBJID)."""
    rows = []
    for resource, usubjid in items:
        for ext in resource.get("extension", []):
            if ext.get("url") == SUPPLEMENTAL:
                parts = {
                    e["url"]: e.get("valueString", e.get("valueInteger"))
                    for e in ext.get("extension", [])
                }
                rows.append({"STUDYID": study_id, "RDOMAIN": domain, "USUBJID": usubjid, **parts})
    if not rows:
        return None
    frame = pd.DataFrame(rows).sort_values("order", kind="stable", ignore_index=True)
    return finalize(f"SUPP{name}", domain_meta(f"SUPP{domain}"), frame.drop(columns="order"))
