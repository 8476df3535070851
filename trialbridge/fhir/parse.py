"""FHIR R4 resources -> SDTM datasets through the same mapping tables used to build them.

Only the datasets the input holds records for come back: a dataset it defines but has no
records for is named, not rebuilt empty (so an earlier file of it is left as it was), unless
its definition counts 0 records; one whose definition counts records comes whole or not at
all. What the input holds that trialbridge does not convert is counted by resource type.
Every value is checked for the type its SDTM variable needs, and every reference parsing
follows must resolve in the input; a problem is one line at the resource's place, all of
them reported before the run stops."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from trialbridge.bulk import collector_paused
from trialbridge.errors import KEEP_PER_KIND, UserError, checkpoint, report, report_rows
from trialbridge.fhir import (
    added_qualifiers,
    amended,
    definition,
    foreign,
    grouped,
    intake,
    paths,
    relrec,
    shapes,
    supplemental,
)
from trialbridge.fhir.codecs import datetime_from_fhir, number_text
from trialbridge.fhir.grouped import ORDER
from trialbridge.fhir.intake import Intake, Origin
from trialbridge.fhir.paths import get_path
from trialbridge.fhir.reading import json_kind
from trialbridge.fhir.shapes import Unreadable, shown
from trialbridge.fhir.table import ORIGINAL_TEXT, Element, Table, table
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, domain_meta, standard_domains

SOURCE = "__resource"  # a record's resource (its index in the input), for messages


@dataclass(frozen=True)
class Parsed:
    """The datasets, and what the input held besides them."""

    datasets: dict[str, Dataset]
    not_converted: dict[str, int]  # resource type -> resources no SDTM mapping reads
    no_input: list[str]  # datasets the input defines but holds no records for
    duplicates: int  # identical copies of a resource, read once
    undefined: list[str]  # datasets without a definition: SDTMIG's variables, order, labels
    other_studies: int = 0  # resources a pull got of another study, left out
    foreign: dict[str, int] = field(default_factory=dict)  # another system's, left out, by type
    imported: int = 0  # resources another system wrote, imported as records
    exported: bool = True  # False: a pull without $export did not seek another system's


def parse(resources: Sequence[Any]) -> dict[str, Dataset]:
    """The datasets the resources hold records for (`convert` says what else they held)."""
    return convert(resources).datasets


def convert(resources: Sequence[Any]) -> Parsed:
    """Resources (from `bundles.read`, with their places, or any list) -> SDTM datasets."""
    with collector_paused():
        return _convert(resources)


def _convert(resources: Sequence[Any]) -> Parsed:
    found, origin = intake.admit(resources)
    named: set[str] = set()  # the Medications records name
    records: dict[str, list[dict[str, Any]]] = {}
    owners: dict[str, list[tuple[dict[str, Any], str | None]]] = {}
    read: dict[str, list[int]] = {}  # the resources that gave records, as owners lists them
    for name, members in found.records.items():
        records[name], owners[name], read[name] = _records(
            found.domains[name], members, found, origin, named
        )
    checkpoint()
    definitions = {n: definition.read(resources[i]) for n, i in found.definitions.items()}
    kept: dict[str, tuple[str, list[pd.DataFrame]]] = {}  # dataset -> SUPP-- records to add
    datasets = {
        name: _dataset(name, found.domains[name], rows, definitions.get(name), origin, kept)
        for name, rows in records.items()
        if rows
    }
    checkpoint()
    datasets |= _qualifiers(found, owners, read)
    if kept:
        study = found.studies[read[next(iter(kept))][0]]
        datasets |= added_qualifiers.add(datasets, kept, study)
    datasets |= _defined_empty(found, datasets, definitions, origin)
    _check_counts(found, datasets, origin)
    not_converted = found.not_converted.copy()
    not_converted["Medication"] += len(found.medications.keys() - named)
    return Parsed(
        datasets={
            name: definition.apply(d, definitions[name]) if name in definitions else d
            for name, d in datasets.items()
        },
        not_converted={k: v for k, v in sorted(not_converted.items()) if v},
        no_input=sorted(definitions.keys() - datasets.keys()),
        duplicates=found.duplicates,
        undefined=sorted(datasets.keys() - definitions.keys()),
    )


def _defined_empty(
    found: Intake,
    datasets: dict[str, Dataset],
    definitions: dict[str, definition.Definition],
    origin: Origin,
) -> dict[str, Dataset]:
    """The datasets whose definition says they hold no records: rebuilt empty. (Without that
    count, no records is no input: an earlier file of the dataset is left as it was.)"""
    return {
        name: _dataset(name, found.domains[name], [], definitions[name], origin)
        for name, count in found.counts.items()
        if count == 0 and name not in datasets and table(found.domains[name]) is not None
    }


def _check_counts(found: Intake, datasets: dict[str, Dataset], origin: Origin) -> None:
    """A dataset comes whole, as many records as its definition counts, or not at all."""
    for name, count in found.counts.items():
        held = len(datasets[name].frame) - found.imported[name] if name in datasets else None
        if held is not None and held != count:
            report(
                origin.error(
                    found.definitions[name],
                    Unreadable(
                        f"dataset {name} has {count} records by this definition; the input "
                        f"holds {held}",
                        "give all of the dataset's resources (some are missing or extra)",
                    ),
                )
            )
    checkpoint()


def _qualifiers(
    found: Intake,
    owners: dict[str, list[tuple[dict[str, Any], str | None]]],
    read: dict[str, list[int]],
) -> dict[str, Dataset]:
    """SUPP-- from each dataset's resources that gave records, and RELREC from all of them
    (`read`: their indexes, in the order of `owners`)."""
    out: dict[str, Dataset] = {}
    for name, owned in owners.items():
        if not owned:
            continue
        study = found.studies[read[name][0]]
        supp = supplemental.collect(name, found.domains[name], owned, study)
        if supp is not None:
            out[supp.name] = supp
    links = relrec.collect(
        [
            (resource, found.domains[name], owner, found.studies[index])
            for name, owned in owners.items()
            for (resource, owner), index in zip(owned, read[name], strict=True)
        ]
    )
    if links is not None:
        out["RELREC"] = links
    return out


def _records(
    domain: str, members: list[int], found: Intake, origin: Origin, named: set[str]
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str | None]], list[int]]:
    """The SDTM records of a dataset's resources, each resource that gave records with its
    USUBJID, and their indexes (a grouped resource may carry no record)."""
    spec = table(domain)
    assert spec is not None  # intake places only resources of a table's domain
    reader = _Reader(spec, found, named)
    records: list[dict[str, Any]] = []
    owners: list[tuple[dict[str, Any], str | None]] = []
    read: list[int] = []
    for index in members:
        resource = origin.resources[index]
        try:
            owner = reader.owner(resource)
            if spec.group_by is not None:
                rows = reader.grouped(resource)
            else:
                rows = [reader.record(resource, found.studies[index], owner)]
        except Unreadable as problem:
            report(origin.error(index, problem))
            continue
        if not rows:  # a grouped resource that carries no record
            found.not_converted[resource["resourceType"]] += 1
            continue
        for row in rows:
            row[SOURCE] = index
        records += rows
        owners.append((resource, owner))
        read.append(index)
    return records, owners, read


Decoder = Callable[[dict[str, Any]], Any]


class _Reader:
    """Reads one table's record resources, each value checked for the JSON type its codec
    needs; references resolve through what the intake found. Each element's decoder is made
    once per table, not once per record."""

    def __init__(self, spec: Table, found: Intake, named: set[str]) -> None:
        self.spec = spec
        self.found = found
        self.named = named
        self.subject = next(
            (e for e in spec.elements if e.var == "USUBJID" and e.codec == "reference"), None
        )
        self.decoders: list[tuple[str, Decoder | None]] = [
            (e.var, None if e is self.subject else self._decoder(e))
            for e in spec.elements
            if e.codec != "study"  # STUDYID comes from the study tag
        ]

    def owner(self, resource: dict[str, Any]) -> str | None:
        """The USUBJID the resource belongs to: a DM Patient's own, else its subject's."""
        if self.spec.domain == "DM":
            return self.found.subjects[f"Patient/{resource['id']}"]
        if self.subject is None:
            return None
        return self._reference(get_path(resource, self.subject.path), self.subject)

    def record(self, resource: dict[str, Any], study: str | None, owner: str | None) -> Any:
        """One SDTM record: the table's elements, then the sdtm-variable extensions (read
        and checked first: a coded element reads the extensions)."""
        carried, partners = shapes.record_extensions(resource, self.spec.domain)
        if partners:
            self._partners(partners)
        record: dict[str, Any] = {"STUDYID": study, "DOMAIN": self.spec.domain}
        for name, decode in self.decoders:
            value = owner if decode is None else decode(resource)
            if value is not None:
                record[name] = value
        record.update(carried)
        if self.spec.amended is not None and resource.get("status") in self.spec.amended.status:
            record[amended.STATUS] = resource["status"]
        if foreign.is_foreign(resource):
            record[foreign.SOURCE] = f"{resource['resourceType']}/{resource['id']}"
        return record

    def grouped(self, resource: dict[str, Any]) -> list[dict[str, Any]]:
        """The records a grouped resource (DS, TS, ...) carries."""
        _, partners = shapes.record_extensions(resource, self.spec.domain)
        self._partners(partners)
        return grouped.records(resource)

    def _partners(self, partners: list[tuple[str, Any]]) -> None:
        """The records a RELREC relationship links this one to are in the input: without
        them, RELREC would come back with part of the relationship."""
        for path, value in partners:
            target = value.get("reference") if type(value) is dict else None
            if type(target) is not str:
                raise Unreadable(f"{path} (RELREC) has no reference")
            if target not in self.found.seen:
                raise Unreadable(
                    f"{path} (RELREC) refers to {shown(target, 100)}, which is not in the input",
                    "include that resource, or correct the reference",
                )

    def _decoder(self, element: Element) -> Decoder:
        """The element's value in a resource, as SDTM holds it, checked for its JSON type;
        for an element in an extension, in that extension item."""
        decode = self._value_decoder(element)
        if element.extension is None:
            return decode
        url = element.extension

        def in_extension(resource: dict[str, Any]) -> Any:
            for item in resource.get("extension") or ():  # shapes checked
                if item.get("url") == url:
                    return decode(item)
            return None

        return in_extension

    def _value_decoder(self, element: Element) -> Decoder:
        path, codec, steps = element.path, element.codec, paths.steps(element.path)
        if codec == "coded-extension":
            return partial(_extension_text, url=element.url)
        if codec in ("reference", "medication"):
            return lambda resource: self._reference(_at(resource, steps), element)
        if codec == "numeric-code":
            return lambda resource: _number_code(_at(resource, steps), path)
        if paths.compact_lists(path) and codec in ("map", "flag"):
            reverse = {v: k for k, v in element.map.items()}
            return partial(_coded_item, path=path, reverse=reverse)
        if paths.compact_lists(path):  # the item of the slot's system
            system = self._slot_system(element)
            return partial(_system_item, path=path, system=system, kinds=TEXT)
        if codec == "decimal-text":
            return partial(_decimal_text, element=element)
        if codec == "map":
            reverse = {v: k for k, v in element.map.items()}
            defaults = {element.default, *element.default_when.values()} - {None}
            if path == "status" and self.spec.amended is not None:  # kept in SUPP--, not --STAT
                defaults |= set(self.spec.amended.status)

            def mapped(resource: dict[str, Any]) -> Any:
                text = _typed(_at(resource, steps), TEXT, path)
                return None if text is None or text in defaults else reverse.get(text, text)

            return mapped
        if codec == "dateTime":
            return lambda resource: datetime_from_fhir(
                _typed(_at(resource, steps), TEXT, path), _original_text(resource, path)
            )
        kinds = {"decimal": NUMBER, "integer": INTEGER}.get(codec, TEXT)
        return lambda resource: _typed(_at(resource, steps), kinds, path)

    def _slot_system(self, element: Element) -> str:
        """The system that marks an element's item in a gapless list: its own, or that of
        the table's element in the same slot (LBTEST's display is in LBTESTCD's coding)."""
        slot = element.path.rpartition(".")[0]
        for other in [element, *self.spec.elements]:
            if other.system and other.path.rpartition(".")[0] == slot:
                return other.system
        name = f"trialbridge/mappings/fhir/{self.spec.domain.lower()}.yaml"
        raise UserError(
            f"{element.var} is in the gapless list {slot}, whose items no element's system marks",
            name,
            "give the element in that slot its system",
        )

    def _reference(self, value: Any, element: Element) -> str | None:
        """What a reference stands for in SDTM: a Patient its USUBJID, a Medication its name."""
        subject = element.codec == "reference"
        if value is None:
            if subject:
                raise Unreadable(f"no {element.path}", "refer to the subject's Patient")
            return None
        target = value.get("reference") if type(value) is dict else None
        if type(target) is not str:
            what = (
                f"{json_kind(value)}, not a Reference"
                if type(value) is not dict
                else "a Reference without reference"
            )
            raise Unreadable(
                f"{element.path} is {what}", 'give it as a Reference: {"reference": "Type/id"}'
            )
        known = self.found.subjects if subject else self.found.medications
        if target in known:
            return self._named(target, element) if not subject else known[target]
        what = "an SDTM subject (a Patient tagged DM)" if subject else "a Medication"
        if target not in self.found.seen:
            what = "in the input"
        raise Unreadable(
            f"{element.path} refers to {shown(target, 100)}, which is not {what}",
            "include that resource, or correct the reference",
        )

    def _named(self, target: str, element: Element) -> str:
        name = self.found.medications[target]
        if type(name) is not str or not name.strip():
            raise Unreadable(
                f"{element.path} refers to {target}, which has no code.text (the name)",
                "give the Medication its name in code.text",
            )
        self.named.add(target)
        return name


# JSON types an element may hold (true and false are not numbers)
TEXT, NUMBER, INTEGER = (str,), (int, float), (int,)


def _at(resource: dict[str, Any], steps: tuple[tuple[str, int | None], ...]) -> Any:
    """The value at a parsed path (`paths.steps`), or None when a step is absent."""
    node: Any = resource
    for name, index in steps:
        if type(node) is not dict:
            return None
        node = node.get(name)
        if index is not None:
            if type(node) is not list or len(node) <= index:
                return None
            node = node[index]
    return node


def _typed(value: Any, kinds: tuple[type, ...], path: str) -> Any:
    """The value (or None), when its JSON type is one the element holds."""
    if value is None or type(value) in kinds:
        return value
    wanted = "a string" if kinds is TEXT else "an integer" if kinds is INTEGER else "a number"
    raise Unreadable(f"{path} is {json_kind(value)}, not {wanted}", "correct the value")


def _gapless(resource: dict[str, Any], path: str) -> tuple[list[Any], str, str]:
    """The items of a gapless list (`code.coding[+0].code`), the field asked of each, and
    the list's path."""
    list_path, _, rest = path.partition("[+")
    field = rest.partition("].")[2]
    items = get_path(resource, list_path)
    if items is not None and type(items) is not list:
        raise Unreadable(f"{list_path} is {json_kind(items)}, not a list")
    return items or [], field, list_path


def _coded_item(resource: dict[str, Any], path: str, reverse: dict[str, str]) -> str | None:
    """The SDTM value (by `reverse`: code -> value) whose code an item of a gapless list
    (`coding[+1]`) holds."""
    items, field, _ = _gapless(resource, path)
    for item in items:
        code = item.get(field) if type(item) is dict else None
        if type(code) is str and code in reverse:
            return reverse[code]
    return None


def _system_item(resource: dict[str, Any], path: str, system: str, kinds: tuple[type, ...]) -> Any:
    """A field of the item of a gapless list whose system is `system`."""
    items, field, list_path = _gapless(resource, path)
    for item in items:
        if type(item) is dict and item.get("system") == system:
            return _typed(item.get(field), kinds, f"{list_path}.{field}")
    return None


def _decimal_text(resource: dict[str, Any], element: Element) -> str | None:
    """A number kept as SDTM text: the number as it reads (with its comparator), the SDTM
    text where the original-text extension holds it, or the text of a non-numeric value."""
    path = element.path
    number = get_path(resource, path)
    if number is None:
        text = get_path(resource, element.text) if element.text else None
        return _typed(text, TEXT, str(element.text))
    if type(number) not in NUMBER:
        raise Unreadable(f"{path} is {json_kind(number)}, not a number", "correct the value")
    for ext in _original_text(resource, path) or []:
        if ext.get("url") == ORIGINAL_TEXT:
            return ext["valueString"]
    comparator = get_path(resource, element.comparator) if element.comparator else None
    prefix = _typed(comparator, TEXT, str(element.comparator)) or ""
    return prefix + number_text(number)


def _number_code(value: Any, path: str) -> float | None:
    """A code that SDTM keeps as a number (MedDRA's AEPTCD)."""
    if value is None:
        return None
    try:
        number = float(_typed(value, (str, int, float), path))
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise Unreadable(f"{path} {shown(value)} is not a number", "give the code as digits")
    return number


def _original_text(resource: dict[str, Any], path: str) -> list[dict[str, Any]] | None:
    """The primitive extension (`_birthDate`) holding the SDTM text FHIR cannot hold."""
    parent, _, name = path.rpartition(".")
    holder_path = f"{parent}._{name}" if parent else f"_{name}"
    holder = get_path(resource, holder_path)
    if holder is None:
        return None
    if type(holder) is not dict:
        raise Unreadable(f"{holder_path} is {json_kind(holder)}, not an object")
    items = holder.get("extension")
    if type(items) is not list or not all(type(e) is dict for e in items):
        raise Unreadable(f"{holder_path}.extension is not a list of extensions")
    for position, ext in enumerate(items):
        if ext.get("url") == ORIGINAL_TEXT and type(ext.get("valueString")) is not str:
            raise Unreadable(f"{holder_path}.extension[{position}].valueString is not a string")
    return items


def _extension_text(resource: dict[str, Any], url: str | None) -> str | None:
    for ext in resource.get("extension") or ():  # shapes checked
        if ext["url"] == url:
            for part in ext.get("extension") or []:
                if part["url"] == "text":
                    return part["valueString"]
    return None


def _dataset(
    name: str,
    domain: str,
    records: list[dict[str, Any]],
    defined: definition.Definition | None,
    origin: Origin,
    kept: dict[str, tuple[str, list[pd.DataFrame]]] | None = None,
) -> Dataset:
    """A dataset's records (`kept` gets the SUPP-- records parsing adds: the statuses of
    amended results, the resources of imported ones)."""
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame({SOURCE: []})
    meta = _meta(domain)
    numeric = {v.name for v in meta.variables if v.type == "Num"}
    numeric |= {n for n, _, kind in (defined.variables if defined else []) if kind == "Num"}
    _check_numbers(frame, numeric, origin)
    if ORDER in frame:  # the sponsor's record order, whatever order the resources came in
        frame = frame.sort_values(ORDER, kind="stable", ignore_index=True).drop(columns=ORDER)
    spec = table(domain)

    def error(label: Any, what: str) -> UserError:
        return origin.error(int(frame.at[label, SOURCE]), Unreadable(what, amended.FIX))

    frame, statuses = amended.settle(name, domain, frame, spec.amended if spec else None, error)
    frame, imported = foreign.number(frame, domain)
    found = [f for f in (statuses, imported) if f is not None]
    if found and kept is not None:
        kept[name] = (domain, found)
    frame = frame.drop(columns=SOURCE)
    return with_extra_variables(finalize(name, meta, frame), frame)


def _check_numbers(frame: pd.DataFrame, numeric: set[str], origin: Origin) -> None:
    """Num variables hold numbers: every record whose value is not one is reported."""
    for name in sorted(numeric & set(frame.columns)):
        values = frame[name]
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        bad = np.flatnonzero((values.notna() & ~np.isfinite(numbers)).to_numpy())
        if len(bad):
            errors = [
                origin.error(
                    int(frame[SOURCE].iat[row]),
                    Unreadable(
                        f"{name} {shown(values.iat[row])} is not a number",
                        f"{name} is Num: give it as valueDecimal",
                    ),
                )
                for row in bad[:KEEP_PER_KIND]
            ]
            report_rows(errors, len(bad), f"{name} is not a number")
        frame[name] = numbers


def _meta(domain: str) -> DomainMeta:
    """SDTMIG metadata where trialbridge ships it; else none (the dataset definition that
    travels with the resources gives the variables)."""
    if domain in standard_domains():
        return domain_meta(domain)
    return DomainMeta(
        domain=domain, label=domain, dataset_class="", structure="", keys=(), variables=()
    )


def with_extra_variables(dataset: Dataset, frame: pd.DataFrame) -> Dataset:
    """The dataset with the variables its SDTMIG domain does not define (a sponsor's AEDTC),
    after the standard ones; numbers where the values are numbers."""
    extra = [c for c in frame.columns if c not in dataset.frame]
    if not extra:
        return dataset
    variables = list(dataset.variables)
    columns = {}
    for position, name in enumerate(extra, len(variables) + 1):
        numeric = pd.api.types.is_numeric_dtype(frame[name])
        columns[name] = (
            frame[name] if numeric else frame[name].astype("str").where(frame[name].notna())
        )
        variables.append(
            VariableMeta(
                domain=dataset.name,
                order=position,
                name=name,
                label=name,
                type="Num" if numeric else "Char",
                codelist=None,
                format=None,
                role="",
                core="Perm",
            )
        )
    data = pd.concat([dataset.frame, pd.DataFrame(columns)], axis=1)
    return replace(dataset, frame=data, variables=variables)
