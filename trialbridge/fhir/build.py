"""SDTM datasets -> FHIR R4 resources as JSON text, through the mapping tables.

Record tables (one resource per record) are rendered column-wise (see render.py); grouped
tables (a few resources holding many records: TS, DS, trial design) are built as dicts."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from trialbridge.errors import UserError
from trialbridge.fhir import definition, grouped, profiles, render
from trialbridge.fhir.codecs import place_datetime
from trialbridge.fhir.context import Context
from trialbridge.fhir.encode import Placed, encode, finite
from trialbridge.fhir.ids import (
    key_text,
    medication_id,
    patient_id,
    resource_id,
    resource_ids,
    study_resource_id,
)
from trialbridge.fhir.paths import set_path
from trialbridge.fhir.table import (
    BASE,
    SDTM_ORDER,
    SDTM_VARIABLE,
    WORKFLOW_STUDY,
    Element,
    Table,
    table,
)
from trialbridge.sdtm.dataset import Dataset

DATASET_TAG = f"{BASE}/CodeSystem/sdtm-dataset"
DOMAIN_TAG = f"{BASE}/CodeSystem/sdtm-domain"  # only on split datasets (LBCH holds LB)
STUDY_TAG = f"{BASE}/CodeSystem/sdtm-study"
# `foreign`: on another system's resource a pull imports (fhir/foreign.py); never sent
ORIGIN_TAG = f"{BASE}/CodeSystem/sdtm-origin"
CARRIED = ("STUDYID", "DOMAIN")  # in meta.tag


@dataclass
class Built:
    """One dataset's resources: ids in record order, and either a tree of columns (record
    tables) or dicts (grouped tables). Extensions from SUPP-- and RELREC are added before
    `texts` renders the JSON."""

    resource: str
    dataset: str  # its name: LBCH for a split dataset
    ids: pa.Array  # text
    sdtm_domain: str = ""  # LB for LBCH
    tree: render.Tree | None = None
    dicts: list[dict[str, Any]] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)  # meta.source per record
    wave: int | None = None  # bundles.py's wave where the resource type's own is not enough

    def add_extensions(self, fragments: pa.Array) -> None:
        """Extension items (JSON objects, comma-joined per record; null where none)."""
        if self.tree is not None:
            self.tree.append_items("extension", render.Leaf(fragments))
            return
        for resource, text in zip(self.dicts, fragments.to_pylist(), strict=True):
            if text is not None:
                resource.setdefault("extension", []).extend(json.loads(f"[{text}]"))

    def texts(self, rows: np.ndarray | None = None) -> pa.Array | pa.ChunkedArray:
        """The JSON of the given records' resources (all when None)."""
        if self.tree is not None:
            return self.tree.render(rows)
        chosen = self.dicts if rows is None else [self.dicts[int(r)] for r in rows]
        dumped = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in chosen]
        return pa.array(dumped, render.TEXT)


def domain_of(dataset: Dataset) -> str:
    """The SDTM domain a dataset holds: its name, or for a split dataset (LBCH, QSCO) the
    domain its DOMAIN column names."""
    frame = dataset.frame
    if dataset.name.startswith("SUPP") or "DOMAIN" not in frame:
        return dataset.name
    values = frame["DOMAIN"].dropna().unique()
    if len(values) == 1 and dataset.name.startswith(str(values[0])):
        return str(values[0])
    return dataset.name


def build_dataset(dataset: Dataset, study_id: str, context: Context | None = None) -> Built:
    """Variables the table places go to their FHIR element; every other populated variable
    rides in an sdtm-variable extension, so nothing is dropped. The context gives date-times
    their site's UTC offset, and records their visit's Encounter."""
    spec = table(domain_of(dataset))
    if spec is None:
        raise UserError(f"no FHIR mapping table for {dataset.name}", "trialbridge/mappings/fhir")
    if spec.group_by is not None:
        return _build_grouped(dataset, spec, study_id)
    frame = dataset.frame
    ids = resource_ids([study_id, spec.resource, dataset.name], [frame[v] for v in spec.id_from])
    tree = render.Tree(len(frame))
    built = Built(spec.resource, dataset.name, ids, domain_of(dataset), tree=tree)
    tree.put("resourceType", render.constant(spec.resource))
    tree.put("id", render.Leaf(ids, prefix='"', suffix='"'))  # hex digits and dashes
    tree.put("meta.tag", render.constant(_tags(dataset, study_id)))
    sources = _sources(dataset.lineage, len(frame))
    built.sources = sources.tolist()
    tree.put("meta.source", render.text_leaf(sources))
    for path, value in spec.fixed.items():
        tree.put(path, render.constant(value))
    context = context or Context()
    per_record = context.zones.per_record(frame)
    put_links(tree, spec, context, frame, study_id)
    values = partial(context.values, frame=frame, study_id=study_id)
    for element in spec.elements:
        for placed in encode(element, frame, study_id, dataset.name, per_record, values):
            if placed.codec == "leftover":
                leaf = _variable_leaf(element.var, placed.values, numeric=False)
                tree.append_items("extension", leaf)
                continue
            if placed.path == "extension":
                tree.append_items("extension", placed.leaf())
            else:
                tree.put(placed.path, placed.leaf())
            built.placed += [placed, *placed.inner]
    if spec.vital_signs:
        claimed = profiles.claimed(built.placed)
        if claimed is not None:
            tree.put(claimed.path, claimed.leaf())
            built.placed.append(claimed)
    order = render.numbers(np.arange(1, len(frame) + 1, dtype=np.float64))
    tree.append_items(
        "extension",
        render.Leaf(order, prefix=f'{{"url":"{SDTM_ORDER}","valueInteger":', suffix="}"),
    )
    mapped = {e.var for e in spec.elements}
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    for variable in dataset.variables:
        if variable.name not in mapped and variable.name not in CARRIED:
            leaf = _variable(dataset, variable.name, variable.name in numeric)
            tree.append_items("extension", leaf)
    return built


def put_links(
    tree: render.Tree, spec: Table, context: Context, frame: pd.DataFrame, study_id: str
) -> None:
    """Each record's study and visit Encounter, where the table has elements for them."""
    if spec.study is not None and context.study:
        put_study(tree, spec.study, context.study_references(frame, study_id))
    if spec.encounter is not None:
        visits = context.encounter_references(frame, study_id)
        if visits is not None:
            tree.put(f"{spec.encounter}.reference", render.text_leaf(visits))


def put_study(tree: render.Tree, where: str, studies: pa.Array) -> None:
    """The record's study (its site's, where the study has sites): an element
    (AdverseEvent.study), or R4's workflow-researchStudy extension."""
    if where == "extension":
        head = f'{{"url":"{WORKFLOW_STUDY}","valueReference":{{"reference":'
        tree.append_items("extension", render.text_leaf(studies, head, "}}"))
    else:
        tree.put(f"{where}[0].reference", render.text_leaf(studies))


def _tags(dataset: Dataset, study_id: str) -> list[dict[str, str]]:
    tags = [{"system": DATASET_TAG, "code": dataset.name}]
    if domain_of(dataset) != dataset.name:
        tags.append({"system": DOMAIN_TAG, "code": domain_of(dataset)})
    return [*tags, {"system": STUDY_TAG, "code": study_id}]


def _sources(lineage: pd.DataFrame, length: int) -> pd.Series:
    """meta.source: the native record (`file#row=N`) each SDTM record came from, if known."""
    if len(lineage) != length or lineage.empty:
        return pd.Series([None] * length, dtype=object)
    files, rows = lineage.iloc[:, 0], pd.to_numeric(lineage.iloc[:, 1], errors="coerce")
    text = files.astype(str) + "#row=" + rows.astype("Int64").astype(str)
    known = (files.notna() & rows.notna()).to_numpy()
    return pd.Series(np.where(known, text.astype(object), None), dtype=object)


def _variable(dataset: Dataset, name: str, numeric: bool) -> render.Leaf:
    """An sdtm-variable extension item where the record has a value."""
    column = dataset.frame[name].reset_index(drop=True)
    if numeric:
        return _variable_leaf(name, finite(column, name, dataset.name), numeric=True)
    return _variable_leaf(name, render.text_column(column), numeric=False)


def _variable_leaf(name: str, values: pa.Array, numeric: bool) -> render.Leaf:
    """sdtm-variable extension items: text, or numbers (float column)."""
    head = (
        f'{{"url":"{SDTM_VARIABLE}","extension":[{{"url":"name","valueString":"{name}"}},'
        f'{{"url":"value","value{"Decimal" if numeric else "String"}":'
    )
    if numeric:
        return render.Leaf(render.numbers(values), prefix=head, suffix="}]}")
    return render.text_leaf(values, head, "}]}")


def _build_grouped(dataset: Dataset, spec: Table, study_id: str) -> Built:
    """One resource per group; the group's records ride whole in sdtm-record extensions."""
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    frame = dataset.frame.reset_index(drop=True)
    keys = [key_text(frame[v]).to_pylist() for v in spec.id_from]
    out: list[dict[str, Any]] = []
    ids = []
    for group in grouped.groups(frame, spec):
        position, first = group[0]
        ids.append(resource_id(study_id, spec.resource, dataset.name, *(k[position] for k in keys)))
        resource: dict[str, Any] = {
            "resourceType": spec.resource,
            "id": ids[-1],
            "meta": {"tag": _tags(dataset, study_id)},
        }
        grouped.fill(resource, spec, group)
        for element in spec.elements:
            _place_first(resource, element, first, study_id)
        resource["extension"] = grouped.record_extensions(group, numeric)
        out.append(resource)
    ids_text = pa.array(ids, pa.large_string())
    return Built(spec.resource, dataset.name, ids_text, domain_of(dataset), dicts=out)


def _place_first(
    resource: dict[str, Any], element: Element, first: dict[str, Any], sid: str
) -> None:
    """An element of a grouped table, from the group's first record (its populated values)."""
    value = first.get(element.var)
    if value is None:
        return
    if element.codec == "reference":
        set_path(resource, element.path, {"reference": f"Patient/{patient_id(sid, value)}"})
    elif element.codec == "study":
        set_path(resource, element.path, {"reference": f"ResearchStudy/{study_resource_id(value)}"})
    elif element.codec == "dateTime":
        place_datetime(resource, element.path, str(value))
    else:
        set_path(resource, element.path, copy.deepcopy(value))


def build_medications(dataset: Dataset, study_id: str) -> Built | None:
    """One Medication per distinct treatment name a table refers to (EX's EXTRT): what the
    MedicationAdministrations point at. Tagged with the study only: it is not an SDTM record."""
    spec = table(domain_of(dataset))
    names = sorted(
        {
            str(value)
            for element in (spec.elements if spec else [])
            if element.codec == "medication" and element.var in dataset.frame
            for value in dataset.frame[element.var].dropna().unique()
        }
    )
    if not names:
        return None
    resources = [
        {
            "resourceType": "Medication",
            "id": medication_id(study_id, name),
            "meta": {"tag": [{"system": STUDY_TAG, "code": study_id}]},
            "code": {"text": name},
        }
        for name in names
    ]
    ids = pa.array([r["id"] for r in resources], pa.large_string())
    return Built("Medication", f"{dataset.name} treatments", ids, "", dicts=resources)


def extension_only(dataset: Dataset) -> list[str]:
    """The dataset's variables that no standard FHIR element holds: they travel in
    trialbridge's extensions (sdtm-variable, sdtm-record, sdtm-supplemental, sdtm-relrec)."""
    spec = table(domain_of(dataset))
    standard = {e.var for e in spec.elements} if spec and spec.group_by is None else set()
    return [v.name for v in dataset.variables if v.name not in standard | set(CARRIED)]


def build_definitions(datasets: list[Dataset], study_id: str) -> Built:
    """A Basic resource per dataset with its label and variables (see definition.py)."""
    resources = [definition.build(d, study_id, _tags(d, study_id)) for d in datasets]
    ids = pa.array([r["id"] for r in resources], pa.large_string())
    return Built("Basic", "dataset definitions", ids, "", dicts=resources)
