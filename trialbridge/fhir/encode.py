"""SDTM columns -> the FHIR values a table element places, codec by codec, as Arrow columns
(null where the record has no value). Conversions run once per distinct value where they are
not plain casts (dates, references, codes)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, partial
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.errors import UserError
from trialbridge.fhir import render
from trialbridge.fhir.codecs import datetime_to_fhir, number_text
from trialbridge.fhir.ids import medication_id, patient_id, study_resource_id
from trialbridge.fhir.paths import steps
from trialbridge.fhir.table import ORIGINAL_TEXT, UCUM, Derived, Element, ucum_codes
from trialbridge.sdtm.ct import shipped_terminology
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
    inner: list[Placed] = field(default_factory=list)  # an extension item's own columns
    safe: bool = False  # text known to need no JSON escaping (URIs, codes, ids, dates)

    def leaf(self) -> render.Leaf:
        if self.rendered is not None:
            return render.Leaf(self.rendered)
        if self.json == "raw":  # JSON number tokens, checked as such
            return render.Leaf(self.values)
        if self.json == "number":
            return render.Leaf(render.numbers(self.values))
        if self.json == "reference" and self.safe:
            return render.Leaf(self.values, prefix='{"reference":"', suffix='"}')
        if self.json == "reference":
            return render.text_leaf(self.values, '{"reference":', "}")
        if self.json == "original-text":
            head = f'{{"extension":[{{"url":"{ORIGINAL_TEXT}","valueString":'
            return render.text_leaf(self.values, head, "}]}")
        if self.safe:  # no escaping to look for: the quotes go around the values as they are
            return render.Leaf(self.values, prefix='"', suffix='"')
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
    context: Callable[[str], pa.Array | None] | None = None,
) -> list[Placed]:
    """The columns one table element writes: the value, a `system` beside a code, a UCUM
    code beside a unit, derived codes (LOINC, NCIt), constants written where the value is,
    and for dates the primitive extension holding SDTM text FHIR cannot represent; the whole
    as one root extension item when the element lies in an extension. Values the element
    cannot hold (a result that is not a number, a record without the context value the
    element needs) come back as a `leftover` column, for the sdtm-variable extension.
    `zones`: each record's site time zone; `context`: per-record values by name."""
    found = _encode(element, frame, study_id, domain, zones)
    found, leftover = _needs(element, found, context, frame)
    if found:
        found += _derived(element, frame, found[0].values)
    # constants first: a contained resource's resourceType leads it
    found.sort(key=lambda p: p.codec != "constant")
    if element.extension and found:
        found = [_in_extension(element.extension, found, len(frame))]
    return found + leftover


def _derived(element: Element, frame: pd.DataFrame, placed: pa.Array) -> list[Placed]:
    """What is written beside a placed value: the unit's UCUM code, derived codings, and
    constants (`present`)."""
    out: list[Placed] = []
    if element.unit_code:
        out += _coded(element.unit_code, UCUM, ucum_codes(), placed)
    where = pc.is_valid(placed)
    if element.also and element.var in frame:  # not a default written for an absent variable
        values = pc.if_else(where, render.text_column(frame[element.var]), None)
        out += _also(element, pc.cast(values, pa.large_string()), frame)
    for path, value in element.present.items():
        constant = pc.cast(pc.if_else(where, value, None), pa.large_string())
        out.append(Placed(path, constant, "constant", safe=plain(value)))
    return out


def _also(element: Element, values: pa.Array, frame: pd.DataFrame) -> list[Placed]:
    """The codes derived from the placed values: looked up in a map or a CDISC codelist's
    NCIt C-codes, one code for any value, or by several variables in a table (LOINC)."""
    out: list[Placed] = []
    for also in element.also:
        column = values
        if also.lookup is not None:
            if also.unless not in frame:
                keys, codes, displays = _lookup_keys(also, frame, values)
                out += _coded(also.path, also.system, codes, keys, displays)
            continue
        if also.present is not None:
            column = pc.cast(pc.if_else(pc.is_valid(values), also.present, None), values.type)
        if also.codelist is not None:
            codes, displays = ncit_terms(also.codelist)
            out += _coded(also.path, also.system, codes, column, displays)
        else:
            codes = also.map or ({also.present: also.present} if also.present else {})
            out += _coded(also.path, also.system, codes, column)
    return out


def _lookup_keys(
    also: Derived, frame: pd.DataFrame, values: pa.Array
) -> tuple[pa.Array, dict[str, str], dict[str, str]]:
    """Each record's key into the lookup table (its `by` values joined; null where the
    element placed nothing), and the table's key -> code and key -> display."""
    parts = [
        frame[name].astype("string").fillna("") if name in frame else pd.Series("", frame.index)
        for name in also.by
    ]
    joined = parts[0].str.cat(parts[1:], sep=KEY_SEPARATOR) if len(parts) > 1 else parts[0]
    joined_array = pa.array(joined.to_numpy(object), pa.large_string())
    keys = pc.if_else(pc.is_valid(values), joined_array, None)
    codes, displays = lookup_table(also.lookup or "", tuple(also.by))
    return keys, codes, displays


KEY_SEPARATOR = "\x1f"


@cache
def lookup_table(name: str, by: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """A lookup CSV of fhir/definitions (lines starting with # are comments): key -> code,
    key -> display."""
    path = resources.files("trialbridge.fhir.definitions").joinpath(name)
    with path.open(encoding="utf-8") as handle:
        found = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    codes, displays = {}, {}
    for row in found:
        key = KEY_SEPARATOR.join(row[name] for name in by)
        codes[key], displays[key] = row["code"], row["display"]
    return codes, displays


def _needs(
    element: Element,
    found: list[Placed],
    context: Callable[[str], pa.Array | None] | None,
    frame: pd.DataFrame,
) -> tuple[list[Placed], list[Placed]]:
    """The element's values where the record has the context values it needs (`needs`:
    path -> name), with those values; elsewhere the value is left over. Leftovers the codec
    made itself (`leftover` columns) pass through."""
    leftover = [p for p in found if p.codec == "leftover"]
    found = [p for p in found if p.codec != "leftover"]
    if not element.needs or not found or element.var not in frame:
        return found, leftover
    have = pa.array(np.ones(len(found[0].values), dtype=bool))
    needed: list[Placed] = []
    for path, name in element.needs.items():
        values = context(name) if context is not None else None
        if values is None:
            values = pa.nulls(len(have), pa.large_string())
        have = pc.and_(have, pc.is_valid(values))
        needed.append(Placed(path, values, "reference", "string", safe=True))
    kept = [replace(p, values=pc.if_else(have, p.values, None)) for p in found + needed]
    lost = pc.if_else(have, None, render.text_column(frame[element.var]))
    if pc.any(pc.is_valid(lost)).as_py():
        leftover.append(_leftover(lost))
    return kept, leftover


def _in_extension(url: str, found: list[Placed], length: int) -> Placed:
    """The placed columns as one root extension item at `url` (null where none is present):
    a small tree of their own, rendered, its `url` put first."""
    tree = render.Tree(length)
    for placed in found:
        tree.put(placed.path, placed.leaf())
    inner = tree.render()
    if isinstance(inner, pa.ChunkedArray):
        inner = inner.combine_chunks()
    head = pa.scalar(f'{{"url":"{url}",', pa.large_string())
    rest = pc.utf8_slice_codeunits(inner, 1)
    item = pc.binary_join_element_wise(head, rest, pa.scalar("", pa.large_string()))
    item = pc.if_else(pc.equal(inner, "{}"), pa.scalar(None, pa.large_string()), item)
    return Placed("extension", found[0].values, "extension", rendered=item, inner=found)


def _encode(
    element: Element, frame: pd.DataFrame, study_id: str, domain: str, zones: pd.Series | None
) -> list[Placed]:
    if element.var not in frame:
        if element.default is None:
            return []
        values = _defaults(element, frame, pd.Series([None] * len(frame), dtype=object))
        return _with_system(element, Placed(element.path, values, element.codec, "string"))
    column = frame[element.var].reset_index(drop=True)
    present = column.notna()
    codec = element.codec
    if codec == "map":
        _check_map(element, column[present], domain)
        mapped = _defaults(element, frame, column.map(element.map).where(present, None))
        return _with_system(element, Placed(element.path, mapped, codec))
    if codec in ("reference", "study", "medication"):
        return [_reference(element, column, study_id)]
    if codec == "coded-extension":
        return [_coded_extension(element, column)]
    if codec == "decimal-text":
        return _decimal_text(element, column)
    if codec == "unit":
        return _unit(element, column, frame)
    if codec == "flag":
        values = render.text_column(column)
        codes = render.text_column(column.map(element.map))
        placed = _with_system(element, Placed(element.path, codes, codec))
        return [*placed, _leftover(pc.if_else(pc.is_valid(codes), None, values))]
    if codec in ("decimal", "integer"):
        values = finite(column, element.var, domain)
        return _with_system(element, Placed(element.path, values, codec, "number"))
    if codec == "numeric-code":
        finite(column, element.var, domain)  # no infinities
        codes = _per_distinct(column.where(present, None), _number_text)
        return _with_system(element, Placed(element.path, codes, codec))
    if codec == "dateTime":
        return _datetime(element, column, domain, zones)
    placed = _with_system(element, Placed(element.path, render.text_column(column), codec))
    return _system_with(element, placed, frame)


# a decimal as SDTM text holds it in --ORRES and --ORNRLO (097.8 too); up to 15 integer
# digits, so every parser reads it as a number
DECIMAL = r"-?0*\d{1,15}(?:\.\d+)?"
_COMPARED = f"^(?P<op><=|>=|<|>)(?P<number>{DECIMAL})$"
LEADING_ZEROS = r"^(-?)0+(\d)"  # what JSON numbers may not have: 097.8 is 97.8


def _decimal_text(element: Element, column: pd.Series) -> list[Placed]:
    """A number kept as SDTM text (--ORRES, --ORNRLO) written as that very JSON number, so
    its precision stays (13.10 is 13.10); `<0.5` as comparator and value where the element
    has a comparator; any other text at `text` (a coded result's text) or left over. Where
    the number would read back as other text (13.10 reads as 13.1), the SDTM text rides in
    the original-text extension too."""
    text = render.text_column(column)
    plain = pc.fill_null(pc.match_substring_regex(text, f"^{DECIMAL}$"), False)
    number = pc.if_else(plain, text, None)
    placed: list[Placed] = []
    if element.comparator:
        compared = pc.extract_regex(text, _COMPARED)
        number = pc.coalesce(number, pc.struct_field(compared, "number"))
        placed.append(Placed(element.comparator, pc.struct_field(compared, "op"), "code"))
    # JSON has no leading zeros: 097.8 is written 97.8 (and its text kept, below)
    token = pc.replace_substring_regex(number, LEADING_ZEROS, r"\1\2")
    placed.insert(0, Placed(element.path, token, "decimal-text", "raw"))
    original = _per_distinct(text.to_pandas(), partial(_unread, element=element))
    original = pc.if_else(pc.is_valid(number), original, None)
    if original.null_count < len(original):
        parent, _, name = element.path.rpartition(".")
        path = f"{parent}._{name}" if parent else f"_{name}"
        placed.append(Placed(path, original, "original-text", "original-text"))
    rest = pc.if_else(pc.is_valid(number), None, text)
    if element.text:
        placed.append(Placed(element.text, rest, "string"))
    else:
        placed.append(_leftover(rest))
    return placed


def _unread(text: str, element: Element) -> str | None:
    """The text, where its number reads back as other text (13.10 as 13.1, 097.8 as 97.8)."""
    number = _number_of(text, element)
    if number is None:
        return None
    token = re.sub(LEADING_ZEROS, r"\1\2", number)
    return text if number_text(token) != number else None


def _number_of(text: str, element: Element) -> str | None:
    """The number in a decimal-text value (`<0.5` -> 0.5 where comparators are written)."""
    if re.fullmatch(DECIMAL, text):
        return text
    found = re.fullmatch(_COMPARED, text) if element.comparator else None
    return found.group("number") if found else None


def _unit(element: Element, column: pd.Series, frame: pd.DataFrame) -> list[Placed]:
    """A unit written beside the number of its decimal-text variable (`of`), where that is a
    number; the others are left over."""
    units = render.text_column(column)
    if element.of is None or element.of not in frame:
        return [_leftover(units)]
    partner = render.text_column(frame[element.of])
    quantity = pc.fill_null(pc.match_substring_regex(partner, f"^(?:<=|>=|<|>)?{DECIMAL}$"), False)
    return [
        Placed(element.path, pc.if_else(quantity, units, None), "unit"),
        _leftover(pc.if_else(quantity, None, units)),
    ]


def _leftover(values: pa.Array) -> Placed:
    """Values the element cannot hold: they ride in the sdtm-variable extension."""
    return Placed("extension", pc.cast(values, pa.large_string()), "leftover")


def _defaults(element: Element, frame: pd.DataFrame, mapped: pd.Series) -> pa.Array:
    """The mapped values; where there is none, the value `default_when` gives for the first
    of its variables the record has (CMENDTC: completed), else `default`."""
    filled = mapped.reset_index(drop=True).astype(object)
    for variable, value in element.default_when.items():
        if variable in frame:
            has = frame[variable].reset_index(drop=True).notna()
            filled = filled.where(filled.notna() | ~has, value)
    if element.default is not None:
        filled = filled.where(filled.notna(), element.default)
    return render.text_column(filled)


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


def _system_with(element: Element, placed: list[Placed], frame: pd.DataFrame) -> list[Placed]:
    """The system also where a later item of the same list has a value (`system_with`), so a
    level the data lacks is a coding of its system alone, not a gap (FHIR has no empty
    elements): MedDRA's high level term of an event coded to PT, LLT and SOC only."""
    names = [v for v in element.system_with if v in frame]
    if not names or len(placed) < 2:
        return placed
    later = np.zeros(len(frame), dtype=bool)
    for name in names:
        column = frame[name].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(column):
            later |= column.notna().to_numpy()
        else:
            later |= pc.is_valid(render.text_column(column)).to_numpy(zero_copy_only=False)
    where = pc.or_(pc.is_valid(placed[0].values), pa.array(later))
    system = pc.cast(pc.if_else(where, element.system, None), pa.large_string())
    return [placed[0], replace(placed[1], values=system)]


def _with_system(element: Element, placed: Placed) -> list[Placed]:
    if not element.system:
        return [placed]
    parent = element.path.rpartition(".")[0]
    system = pc.if_else(pc.is_valid(placed.values), element.system, None)
    path = f"{parent}.system" if parent else "system"
    system = pc.cast(system, pa.large_string())
    return [placed, Placed(path, system, "uri", "string", safe=plain(element.system))]


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
    return Placed(element.path, _per_distinct(column, target), "reference", "reference", safe=True)


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


def _coded(
    path: str,
    system: str,
    codes: dict[str, str],
    values: pa.Array,
    displays: dict[str, str] | None = None,
) -> list[Placed]:
    """A code looked up from each value (a unit's UCUM code), with its system beside it (and
    the code system's display for it, where given)."""
    distinct = pc.unique(values)
    at = pc.index_in(values, value_set=distinct)
    found = [v if v is not None and v in codes else None for v in distinct.to_pylist()]
    # escaped once per distinct value, then spread over the records
    code = render.escaped([codes.get(v) if v else None for v in found]).take(at)
    present = pc.fill_null(pc.is_valid(code), False)
    system_column = pc.cast(pc.if_else(present, system, None), pa.large_string())
    parent = path.rpartition(".")[0]
    out = [
        Placed(f"{parent}.system", system_column, "uri", safe=plain(system)),
        Placed(path, code, "code", safe=True),
    ]
    if displays is not None:
        shown = render.escaped([displays.get(v) if v else None for v in found]).take(at)
        out.append(Placed(f"{parent}.display", shown, "string", safe=True))
    return out


def plain(text: str) -> bool:
    """Whether a constant needs no JSON escaping."""
    return re.search(render.NEEDS_ESCAPE, text) is None


@cache
def ncit_terms(codelist: str) -> tuple[dict[str, str], dict[str, str]]:
    """A CDISC codelist's submission values -> NCIt C-codes, and -> NCI preferred terms."""
    found = shipped_terminology().get(codelist)
    if found is None:
        raise UserError(
            f"codelist {codelist} is not in the shipped CDISC CT",
            "trialbridge/mappings/fhir",
            "name a codelist by its short name (LBTESTCD, UNIT, ...)",
        )
    return found.terms, found.displays


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
    # a FHIR dateTime (checked as such): digits, dashes, colons, T, a zone
    placed = [Placed(element.path, values, "dateTime", "string", safe=True)]
    if original.null_count < len(original):
        parent, _, name = element.path.rpartition(".")
        path = f"{parent}._{name}" if parent else f"_{name}"
        placed.append(Placed(path, original, "original-text", "original-text"))
    return placed
