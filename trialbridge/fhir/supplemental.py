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
from trialbridge.fhir.ids import resource_ids
from trialbridge.fhir.table import BASE, Table, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta

SUPPLEMENTAL = f"{BASE}/StructureDefinition/sdtm-supplemental"
FIELDS = ("IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL", "QORIG", "QEVAL")


def attach(supp: Dataset, built: dict[str, Built], study_id: str) -> int:
    """Add each SUPP record to its parent resource; returns the records placed."""
    frame = supp.frame.reset_index(drop=True)
    for domain, records in frame.groupby("RDOMAIN", sort=False):
        parent = built.get(str(domain))
        spec = table(str(domain))
        if parent is None or spec is None:
            raise UserError(f"{supp.name}: no FHIR resources for parent domain {domain}", supp.name)
        rows = _parent_rows(supp.name, records, parent, spec, study_id)
        parent.add_extensions(render.scatter(rows, _extensions(records), len(parent.ids)))
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
                f"FHIR links SUPP{parent.domain} records by {spec.id_from[-1]}",
                f"{name}, row {row + 1}",
            )
        keys.append(pd.to_numeric(records["IDVARVAL"], errors="coerce"))
    ids = resource_ids([study_id, spec.resource, parent.domain], keys)
    rows = pc.fill_null(pc.index_in(ids, value_set=parent.ids), -1).to_numpy()
    if (rows < 0).any():
        row = records.index[int(np.flatnonzero(rows < 0)[0])]
        raise UserError(
            f"no {parent.domain} record {records.at[row, 'USUBJID']} "
            f"{records.at[row, 'IDVAR'] or ''}={records.at[row, 'IDVARVAL'] or ''}",
            f"{name}, row {row + 1}",
            "every SUPP-- record needs its parent record",
        )
    return rows


def _extensions(records: pd.DataFrame) -> pa.Array:
    """One sdtm-supplemental extension per SUPP record."""
    parts = [
        render.wrap_each(
            f'{{"url":"{name}","valueString":',
            render.strings(render.text_column(records[name])),
            "}",
        )
        for name in FIELDS
        if name in records
    ]
    return render.wrap_each(
        f'{{"url":"{SUPPLEMENTAL}","extension":[', render.join_columns(parts), "]}"
    )


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
