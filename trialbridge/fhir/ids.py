"""Deterministic resource ids: uuid5 of (study, resource type, domain, natural key), so a
re-run updates the same resources instead of duplicating them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir import render
from trialbridge.fhir.table import BASE

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)


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
        exact = pc.less(pc.abs(numbers), 2.0**53)  # beyond, floats are not exact integers
        whole = pc.and_(pc.equal(numbers, pc.round(numbers)), exact)
        as_int = pc.cast(pc.if_else(whole, numbers, 0.0), pa.int64())
        text = pc.if_else(whole, pc.cast(as_int, pa.string()), pc.cast(numbers, pa.string()))
        return pc.fill_null(pc.cast(text, pa.large_string()), "nan")
    return pc.fill_null(render.text_column(values.astype(object)), "nan")


def study_resource_id(study_id: str) -> str:
    """The ResearchStudy that TS becomes (grouped, keyed by STUDYID)."""
    return resource_id(study_id, "ResearchStudy", "TS", study_id)


def site_study_id(study_id: str, site: str) -> str:
    """The ResearchStudy of one site (DM's SITEID), part of the study's."""
    return resource_id(study_id, "ResearchStudy", "site", site)


def patient_id(study_id: str, usubjid: str) -> str:
    return resource_id(study_id, "Patient", "DM", usubjid)


def medication_id(study_id: str, name: str) -> str:
    """The Medication built for each distinct treatment name (EXTRT)."""
    return resource_id(study_id, "Medication", name)
