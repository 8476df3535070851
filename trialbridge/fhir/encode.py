"""SDTM columns -> the FHIR values a table element places, codec by codec, as Arrow columns
(null where the record has no value). Conversions run once per distinct value where they are
not plain casts (dates, references, codes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.errors import UserError
from trialbridge.fhir import render
from trialbridge.fhir.codecs import datetime_to_fhir
from trialbridge.fhir.ids import medication_id, patient_id, study_resource_id
from trialbridge.fhir.paths import steps
from trialbridge.fhir.table import ORIGINAL_TEXT, UCUM, Element, ucum_codes
from trialbridge.timezones import zone


@dataclass
class Placed:
    """A column bound for one element: its path, the plain values (str or float, null where
    absent), the codec that wrote them, and how they become JSON (string, number, or inside
    a small object: reference, original-text). Kept after the build for validation."""

    path: str
    values: pa.Array
    codec: str
    json: str = "string"
    rendered: pa.Array | None = None  # JSON already made (a whole extension item)

    def leaf(self) -> render.Leaf:
        if self.rendered is not None:
            return render.Leaf(self.rendered)
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


def encode(
    element: Element,
    frame: pd.DataFrame,
    study_id: str,
    domain: str,
    zones: pd.Series | None = None,
) -> list[Placed]:
    """The columns one table element writes: the value, a `system` beside a code, a UCUM
    code beside a unit, and for dates the primitive extension holding SDTM text FHIR cannot
    represent. `zones`: each record's site time zone (for date-times)."""
    found = _encode(element, frame, study_id, domain, zones)
    if element.unit_code and found:
        found += _coded(element.unit_code, UCUM, ucum_codes(), found[0].values)
    if element.also and found:
        also = element.also
        values = render.text_column(frame[element.var])
        if also.present is not None:
            values = pc.if_else(pc.is_valid(values), also.present, None)
        codes = also.map or ({also.present: also.present} if also.present else {})
        found += _coded(also.path, also.system, codes, pc.cast(values, pa.large_string()))
    return found


def _encode(
    element: Element, frame: pd.DataFrame, study_id: str, domain: str, zones: pd.Series | None
) -> list[Placed]:
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
        mapped = render.text_column(column.map(element.map).where(present, element.default))
        return _with_system(element, Placed(element.path, mapped, codec))
    if codec in ("reference", "study", "medication"):
        return [_reference(element, column, study_id)]
    if codec == "coded-extension":
        return [_coded_extension(element, column)]
    if codec in ("decimal", "integer"):
        values = finite(column, element.var, domain)
        return _with_system(element, Placed(element.path, values, codec, "number"))
    if codec == "numeric-code":
        finite(column, element.var, domain)  # no infinities
        codes = _per_distinct(column.where(present, None), _number_text)
        return _with_system(element, Placed(element.path, codes, codec))
    if codec == "dateTime":
        return _datetime(element, column, domain, zones)
    return _with_system(element, Placed(element.path, render.text_column(column), codec))


def _number_text(value: Any) -> str:
    """A number as a code: 10019211, 1.1 (no trailing .0, no rounding)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def finite(column: pd.Series, name: str, dataset: str) -> pa.Array:
    """A numeric column for FHIR decimals, which have no infinities: those are refused."""
    values = pd.to_numeric(column, errors="coerce").astype("float64").reset_index(drop=True)
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise UserError(
            f"{name} is {values.iat[row]}: FHIR decimals are finite",
            f"{dataset}, record {row + 1}",
            "correct the value in the SDTM dataset",
        )
    return pa.array(values, pa.float64(), from_pandas=True)


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
    """USUBJID -> the subject's Patient, STUDYID -> the ResearchStudy, a treatment name -> its
    Medication; ids per distinct value."""
    target: Callable[[Any], str] = {
        "reference": lambda v: f"Patient/{patient_id(study_id, v)}",
        "study": lambda v: f"ResearchStudy/{study_resource_id(v)}",
        "medication": lambda v: f"Medication/{medication_id(study_id, v)}",
    }[element.codec]
    return Placed(element.path, _per_distinct(column, target), "reference", "reference")


def _coded_extension(element: Element, column: pd.Series) -> Placed:
    """A root extension (US Core race, ethnicity): the SDTM value as `text`, and a Coding in
    `part` where the table knows the code."""

    def item(value: Any) -> str:
        parts: list[dict[str, Any]] = []
        coding = element.codes.get(value)
        if coding is not None:
            system = coding.system or element.system
            found = {"system": system, "code": coding.code, "display": coding.display}
            parts.append({"url": element.part, "valueCoding": found})
        parts.append({"url": "text", "valueString": str(value)})
        return json.dumps({"url": element.url, "extension": parts}, separators=(",", ":"))

    values = render.text_column(column)
    return Placed("extension", values, "coded-extension", rendered=_per_distinct(column, item))


def _coded(path: str, system: str, codes: dict[str, str], values: pa.Array) -> list[Placed]:
    """A code looked up from each value (a unit's UCUM code), with its system beside it."""
    distinct = pc.unique(values)
    looked_up = [codes.get(v) if v is not None else None for v in distinct.to_pylist()]
    code = pa.array(looked_up, pa.large_string()).take(pc.index_in(values, value_set=distinct))
    present = pc.fill_null(pc.is_valid(code), False)
    system_column = pc.cast(pc.if_else(present, system, None), pa.large_string())
    parent = path.rpartition(".")[0]
    return [Placed(path, code, "code"), Placed(f"{parent}.system", system_column, "uri")]


def _per_distinct(column: pd.Series, convert: Callable[[Any], str | None]) -> pa.Array:
    """convert() of each distinct value, spread back over the records (nulls stay null)."""
    codes, distinct = pd.factorize(column.reset_index(drop=True))
    results = pa.array([convert(value) for value in distinct], pa.large_string())
    return results.take(pa.array(codes, mask=codes < 0))


def _datetime(
    element: Element, column: pd.Series, domain: str, zones: pd.Series | None
) -> list[Placed]:
    """FHIR value per distinct SDTM text and site zone; the SDTM text itself where the value
    does not read back as it."""
    keyed = column
    if zones is not None:
        keyed = column.astype("string") + "|" + zones.fillna("").astype("string")
    converted: dict[str, tuple[str, str | None]] = {}
    for key in keyed.dropna().unique():
        # a zone name holds no "|": the text is all before the last one
        text, name = (str(key), "") if zones is None else str(key).rsplit("|", 1)
        try:
            converted[key] = datetime_to_fhir(text, zone(name) if name else None)
        except ValueError:
            raise UserError(
                f"{element.var} value '{text}' is not an ISO 8601 date/time",
                domain,
                "correct the SDTM value",
            ) from None
    values = _per_distinct(keyed, lambda v: converted[v][0])
    original = _per_distinct(keyed, lambda v: converted[v][1])
    placed = [Placed(element.path, values, "dateTime", "string")]
    if original.null_count < len(original):
        parent, _, name = element.path.rpartition(".")
        path = f"{parent}._{name}" if parent else f"_{name}"
        placed.append(Placed(path, original, "original-text", "original-text"))
    return placed
