"""SDTM datasets -> FHIR R4 resources as JSON text, through the mapping tables.

Record tables (one resource per record) are rendered column-wise (see render.py); grouped
tables (a few resources holding many records: TS, DS, trial design) are built as dicts."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.errors import UserError
from trialbridge.fhir import grouped, render
from trialbridge.fhir.codecs import datetime_to_fhir, place_datetime
from trialbridge.fhir.paths import set_path, steps
from trialbridge.fhir.table import BASE, ORIGINAL_TEXT, SDTM_VARIABLE, Element, Table, table
from trialbridge.sdtm.dataset import Dataset

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)
DATASET_TAG = f"{BASE}/CodeSystem/sdtm-dataset"
STUDY_TAG = f"{BASE}/CodeSystem/sdtm-study"
CARRIED = ("STUDYID", "DOMAIN")  # in meta.tag


def resource_id(*parts: Any) -> str:
    """A deterministic id from natural keys, so a re-run updates instead of duplicating."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")
_DASHES = [(0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)]  # to, from


def resource_ids(prefix: list[str], keys: list[pd.Series]) -> pa.Array:
    """resource_id(*prefix, *key) for every row of the key columns, formatted in bulk."""
    text = pa.large_string()
    names = pc.binary_join_element_wise(
        *(pa.scalar(p, text) for p in prefix),
        *(key_text(k) for k in keys),
        pa.scalar("|", text),
    )
    start = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)
    digests = []
    for name in names.cast(pa.large_binary()).to_pylist():
        digest = start.copy()
        digest.update(name)
        digests.append(digest.digest()[:16])
    raw = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = _HEX[raw].view("S1").reshape(-1, 32)
    dashed = np.full((len(raw), 36), b"-", dtype="S1")
    for to, stop, source in _DASHES:
        dashed[:, to:stop] = hexed[:, source : source + stop - to]
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(36), len(raw), [None, pa.py_buffer(dashed.tobytes())]
    )
    return fixed.cast(pa.large_binary()).cast(text)


def key_text(values: pd.Series) -> pa.Array:
    """Natural-key values as id text: whole numbers without '.0' (--SEQ 3 -> '3')."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = pa.array(values.reset_index(drop=True), pa.float64(), from_pandas=True)
        whole = pc.equal(numbers, pc.round(numbers))
        as_int = pc.cast(pc.if_else(whole, numbers, 0.0), pa.int64())
        text = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(numbers, pa.string()))
        return pc.fill_null(pc.cast(text, pa.large_string()), "nan")
    return pc.fill_null(_text(values.astype(object)), "nan")


def study_resource_id(study_id: str) -> str:
    """The ResearchStudy that TS becomes (grouped, keyed by STUDYID)."""
    return resource_id(study_id, "ResearchStudy", "TS", study_id)


def patient_id(study_id: str, usubjid: str) -> str:
    return resource_id(study_id, "Patient", "DM", usubjid)


@dataclass
class Placed:
    """A column bound for one element: its path, the plain values (str or float, null where
    absent), the codec that wrote them, and how they become JSON (string, number, or inside
    a small object: reference, original-text). Kept after the build for validation."""

    path: str
    values: pa.Array
    codec: str
    json: str = "string"

    def leaf(self) -> render.Leaf:
        if self.json == "number":
            return render.Leaf(render.numbers(self.values))
        if self.json == "reference":
            return render.text_leaf(self.values, '{"reference":', "}")
        if self.json == "original-text":
            head = f'{{"extension":[{{"url":"{ORIGINAL_TEXT}","valueString":'
            return render.text_leaf(self.values, head, "}]}")
        return render.text_leaf(self.values)

    def element(self, resource: str) -> str:
        """The element path from the resource root, without list indexes."""
        return ".".join([resource, *(name for name, _ in steps(self.path))])


@dataclass
class Built:
    """One dataset's resources: ids in record order, and either a tree of columns (record
    tables) or dicts (grouped tables). Extensions from SUPP-- and RELREC are added before
    `texts` renders the JSON."""

    resource: str
    domain: str
    ids: pa.Array  # text
    tree: render.Tree | None = None
    dicts: list[dict[str, Any]] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)  # meta.source per record

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


def build_dataset(dataset: Dataset, study_id: str) -> Built:
    """Variables the table places go to their FHIR element; every other populated variable
    rides in an sdtm-variable extension, so nothing is dropped."""
    spec = table(dataset.name)
    if spec is None:
        raise UserError(f"no FHIR mapping table for {dataset.name}", "trialbridge/mappings/fhir")
    if spec.group_by is not None:
        return _build_grouped(dataset, spec, study_id)
    frame = dataset.frame
    ids = resource_ids([study_id, spec.resource, dataset.name], [frame[v] for v in spec.id_from])
    tree = render.Tree(len(frame))
    built = Built(spec.resource, dataset.name, ids, tree=tree)
    tree.put("resourceType", render.constant(spec.resource))
    tree.put("id", render.Leaf(ids, prefix='"', suffix='"'))  # hex digits and dashes
    tree.put("meta.tag", render.constant(_tags(dataset.name, study_id)))
    sources = _sources(dataset.lineage, len(frame))
    built.sources = sources.tolist()
    tree.put("meta.source", render.text_leaf(sources))
    for path, value in spec.fixed.items():
        tree.put(path, render.constant(value))
    for element in spec.elements:
        for placed in _placed(element, frame, study_id, dataset.name):
            tree.put(placed.path, placed.leaf())
            built.placed.append(placed)
    mapped = {e.var for e in spec.elements}
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    for variable in dataset.variables:
        if variable.name not in mapped and variable.name not in CARRIED:
            leaf = _variable(variable.name, frame[variable.name], variable.name in numeric)
            tree.append_items("extension", leaf)
    return built


def _tags(domain: str, study_id: str) -> list[dict[str, str]]:
    return [{"system": DATASET_TAG, "code": domain}, {"system": STUDY_TAG, "code": study_id}]


def _sources(lineage: pd.DataFrame, length: int) -> pd.Series:
    """meta.source: the native record (`file#row=N`) each SDTM record came from, if known."""
    if len(lineage) != length or lineage.empty:
        return pd.Series([None] * length, dtype=object)
    files, rows = lineage.iloc[:, 0], pd.to_numeric(lineage.iloc[:, 1], errors="coerce")
    text = files.astype(str) + "#row=" + rows.astype("Int64").astype(str)
    known = (files.notna() & rows.notna()).to_numpy()
    return pd.Series(np.where(known, text.astype(object), None), dtype=object)


def _placed(element: Element, frame: pd.DataFrame, study_id: str, domain: str) -> list[Placed]:
    """The columns one table element writes: the value, a `system` beside a code, and for
    dates the primitive extension holding SDTM text FHIR cannot represent."""
    if element.var not in frame:
        if element.default is None:
            return []
        values = pa.array([element.default] * len(frame), pa.large_string())
        return _with_system(element, Placed(element.path, values, element.codec, "string"))
    column = frame[element.var].reset_index(drop=True)
    present = column.notna()
    codec = element.codec
    if codec == "map":
        _check_map(element, column[present], domain)
        mapped = column.map(element.map).where(present, element.default)
        return _with_system(element, Placed(element.path, _text(mapped), codec, "string"))
    if codec in ("reference", "study"):
        return [_reference(element, column, study_id)]
    if codec in ("decimal", "integer"):
        values = pa.array(column.astype("float64"), pa.float64(), from_pandas=True)
        return _with_system(element, Placed(element.path, values, codec, "number"))
    if codec == "numeric-code":
        text = column.round().astype("Int64").astype(str).where(present, None)
        return _with_system(element, Placed(element.path, _text(text), codec, "string"))
    if codec == "dateTime":
        return _datetime(element, column, domain)
    return _with_system(element, Placed(element.path, _text(column), codec, "string"))


def _text(column: pd.Series) -> pa.Array:
    """A text column as Arrow text, missing values as nulls."""
    column = column.reset_index(drop=True)
    if isinstance(column.dtype, pd.StringDtype):
        array = pa.array(column)
        if isinstance(array, pa.ChunkedArray):  # pandas keeps concatenated frames in chunks
            array = array.combine_chunks()
        return pc.cast(array, pa.large_string())
    return pa.array(column.astype(object).where(column.notna(), None), pa.large_string())


def _with_system(element: Element, placed: Placed) -> list[Placed]:
    if not element.system:
        return [placed]
    parent = element.path.rpartition(".")[0]
    system = pc.if_else(pc.is_valid(placed.values), element.system, None)
    path = f"{parent}.system" if parent else "system"
    return [placed, Placed(path, pc.cast(system, pa.large_string()), "uri", "string")]


def _check_map(element: Element, present: pd.Series, domain: str) -> None:
    unknown = sorted(set(present) - set(element.map))
    if unknown:
        raise UserError(
            f"{element.var} value '{unknown[0]}' has no FHIR mapping",
            f"trialbridge/mappings/fhir/{domain.lower()}.yaml",
            "add it to the table's map",
        )


def _reference(element: Element, column: pd.Series, study_id: str) -> Placed:
    """USUBJID -> the subject's Patient, STUDYID -> the ResearchStudy; ids per distinct value."""
    if element.codec == "reference":
        targets = _per_distinct(column, lambda v: f"Patient/{patient_id(study_id, v)}")
    else:
        targets = _per_distinct(column, lambda v: f"ResearchStudy/{study_resource_id(v)}")
    return Placed(element.path, targets, "reference", "reference")


def _per_distinct(column: pd.Series, convert: Callable[[Any], str | None]) -> pa.Array:
    """convert() of each distinct value, spread back over the records (nulls stay null)."""
    codes, distinct = pd.factorize(column.reset_index(drop=True))
    results = pa.array([convert(value) for value in distinct], pa.large_string())
    return results.take(pa.array(codes, mask=codes < 0))


def _datetime(element: Element, column: pd.Series, domain: str) -> list[Placed]:
    """FHIR value per distinct SDTM text; the SDTM text itself where FHIR cannot hold it."""
    converted: dict[str, tuple[str, str | None]] = {}
    for text in column.dropna().unique():
        try:
            converted[text] = datetime_to_fhir(str(text))
        except ValueError:
            raise UserError(
                f"{element.var} value '{text}' is not an ISO 8601 date/time",
                domain,
                "correct the SDTM value",
            ) from None
    values = _per_distinct(column, lambda v: converted[v][0])
    original = _per_distinct(column, lambda v: converted[v][1])
    placed = [Placed(element.path, values, "dateTime", "string")]
    if original.null_count < len(original):
        parent, _, name = element.path.rpartition(".")
        path = f"{parent}._{name}" if parent else f"_{name}"
        placed.append(Placed(path, original, "original-text", "original-text"))
    return placed


def _variable(name: str, column: pd.Series, numeric: bool) -> render.Leaf:
    """An sdtm-variable extension item where the record has a value."""
    column = column.reset_index(drop=True)
    head = (
        f'{{"url":"{SDTM_VARIABLE}","extension":[{{"url":"name","valueString":"{name}"}},'
        f'{{"url":"value","value{"Decimal" if numeric else "String"}":'
    )
    if numeric:
        return render.Leaf(render.numbers(column), prefix=head, suffix="}]}")
    return render.text_leaf(_text(column), head, "}]}")


def _build_grouped(dataset: Dataset, spec: Table, study_id: str) -> Built:
    """One resource per group; the group's records ride whole in sdtm-record extensions."""
    numeric = {v.name for v in dataset.variables if v.type == "Num"}
    out: list[dict[str, Any]] = []
    ids = []
    for group in grouped.groups(dataset.frame, spec):
        first = group.iloc[[0]]
        key = [key_text(first[v])[0].as_py() for v in spec.id_from]
        ids.append(resource_id(study_id, spec.resource, dataset.name, *key))
        resource: dict[str, Any] = {
            "resourceType": spec.resource,
            "id": ids[-1],
            "meta": {"tag": _tags(dataset.name, study_id)},
        }
        grouped.fill(resource, spec, group)
        for element in spec.elements:
            _place_first(resource, element, first, study_id)
        resource["extension"] = grouped.record_extensions(group, numeric)
        out.append(resource)
    return Built(spec.resource, dataset.name, pa.array(ids, pa.large_string()), dicts=out)


def _place_first(resource: dict[str, Any], element: Element, first: pd.DataFrame, sid: str) -> None:
    """An element of a grouped table, from the group's first record."""
    value = first[element.var].iat[0] if element.var in first else None
    if value is None or pd.isna(value):
        return
    if element.codec == "reference":
        set_path(resource, element.path, {"reference": f"Patient/{patient_id(sid, value)}"})
    elif element.codec == "study":
        set_path(resource, element.path, {"reference": f"ResearchStudy/{study_resource_id(value)}"})
    elif element.codec == "dateTime":
        place_datetime(resource, element.path, str(value))
    else:
        set_path(resource, element.path, copy.deepcopy(value))


def mapped_tables(names: list[str]) -> list[Table]:
    return [t for t in (table(n) for n in names) if t is not None]
