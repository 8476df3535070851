"""What FHIR input holds for SDTM, settled before anything is converted: each resource's
type and id, duplicates, and its part (a dataset's record, a dataset definition, the
Medication a record names, the enrolled Group derived from DM, or not convertible: counted
by type). A resource that cannot be placed is one line at its place (file and line, Bundle
file and entry, else Type/id); all of them are reported before the run stops."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trialbridge.errors import UserError, checkpoint, report
from trialbridge.fhir import definition, foreign, shapes
from trialbridge.fhir.build import DATASET_TAG, DOMAIN_TAG, ORIGIN_TAG, STUDY_TAG
from trialbridge.fhir.ids import resource_id, site_study_id
from trialbridge.fhir.paths import get_path
from trialbridge.fhir.reading import MAX_DEPTH, Resources, json_kind, nesting, problem_at, where
from trialbridge.fhir.shapes import Unreadable, shown
from trialbridge.fhir.table import table

TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{0,63}")  # FHIR resource type names
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id


@dataclass
class Intake:
    """The input, sorted: indexes into the resource list."""

    records: dict[str, list[int]] = field(default_factory=dict)  # dataset -> its resources
    domains: dict[str, str] = field(default_factory=dict)  # dataset -> SDTM domain (LBCH: LB)
    studies: dict[int, str | None] = field(default_factory=dict)  # record -> its study tag
    definitions: dict[str, int] = field(default_factory=dict)  # dataset -> its Basic
    counts: dict[str, int] = field(default_factory=dict)  # dataset -> records, as defined
    subjects: dict[str, str] = field(default_factory=dict)  # Patient/id -> USUBJID (DM only)
    usubjids: dict[str, int] = field(default_factory=dict)  # USUBJID -> its Patient
    medications: dict[str, Any] = field(default_factory=dict)  # Medication/id -> code.text
    seen: dict[str, int] = field(default_factory=dict)  # Type/id -> where it was read
    not_converted: Counter[str] = field(default_factory=Counter)  # by resource type
    duplicates: int = 0  # identical copies, read once
    imported: Counter[str] = field(default_factory=Counter)  # dataset -> another system's


class Origin:
    """Names resources in messages: their place when read from files, else Type/id."""

    def __init__(self, resources: Sequence[Any]) -> None:
        self.resources = resources
        self.places = resources.places if isinstance(resources, Resources) else None
        self.text = resources.origin if isinstance(resources, Resources) else "FHIR input"

    def name(self, index: int) -> str | None:
        """Type/id, when both are there to show."""
        resource = self.resources[index]
        if type(resource) is not dict:
            return None
        kind, rid = resource.get("resourceType"), resource.get("id")
        known = type(kind) is str and TYPE_NAME.fullmatch(kind)
        return f"{kind}/{rid}" if known and type(rid) is str and FHIR_ID.fullmatch(rid) else None

    def where(self, index: int) -> str:
        if self.places is not None:
            return where(self.places[index])
        return self.name(index) or f"resource {index + 1}"

    def error(self, index: int, problem: Unreadable) -> UserError:
        if self.places is None:
            return UserError(problem.what, self.where(index), problem.fix)
        name = self.name(index)
        what = f"{name}: {problem.what}" if name else problem.what
        return problem_at(self.places[index], what, problem.fix)

    def where_else(self, index: int, other: int) -> str:
        """Where another resource is, as seen from this one (`line 3` in the same file)."""
        if self.places is not None and self.places[index][0] == self.places[other][0]:
            return where(self.places[other]).removeprefix(f"{self.places[other][0]}, ")
        return self.where(other)


def admit(resources: Sequence[Any]) -> tuple[Intake, Origin]:
    """Every resource placed or reported; stops here if any was reported."""
    found, origin = Intake(), Origin(resources)
    patients = 0
    for index in range(len(resources)):
        try:
            patients += _admit(resources, index, found, origin)
        except Unreadable as problem:
            report(origin.error(index, problem))
    if not patients:
        report(
            UserError(
                "no Patient resources: SDTM records belong to subjects",
                origin.text,
                "include the study's Patients (DM) in the FHIR input",
            )
        )
    checkpoint()
    return found, origin


def _admit(resources: Sequence[Any], index: int, found: Intake, origin: Origin) -> int:
    """Place one resource; 1 for a Patient (read once), else 0."""
    resource = resources[index]
    kind, rid = _identity(resource)
    key = f"{kind}/{rid}"
    first = found.seen.setdefault(key, index)
    if first != index:
        if not _same(resources[first], resource):
            raise Unreadable(
                f"appears again with other content (first at {origin.where_else(index, first)})",
                "a FHIR id names one resource: keep one version of it",
            )
        found.duplicates += 1
        return 0
    codes = shapes.tags(resource)
    dataset, study = codes.get(DATASET_TAG), codes.get(STUDY_TAG)
    if kind == "Basic" and _is_definition(resource):
        _definition(resource, index, dataset, codes.get(DOMAIN_TAG), found, origin)
    elif dataset is not None:
        _record(
            resource, index, kind, (dataset, codes.get(DOMAIN_TAG) or dataset, study), found, origin
        )
    elif kind == "Medication":
        found.medications[key] = get_path(resource, "code.text")
    elif codes.get(ORIGIN_TAG) != "derived" and not _derived(resource, kind, rid, study):
        found.not_converted[kind] += 1
    return int(kind == "Patient")


def _derived(resource: dict[str, Any], kind: str, rid: str, study: str | None) -> bool:
    """The enrolled Group and the site ResearchStudies: derived from DM, not counted."""
    if kind == "Group":
        return rid == resource_id(study, "Group", "enrolled")
    if kind == "ResearchStudy":
        site = get_path(resource, "identifier[0].value")
        return type(site) is str and rid == site_study_id(str(study), site)
    return False


def _identity(resource: Any) -> tuple[str, str]:
    if type(resource) is not dict:
        raise Unreadable(f"{json_kind(resource)}, not a resource object")
    kind = resource.get("resourceType")
    if kind is None:
        raise Unreadable("resource without resourceType", "name the resource's type")
    if type(kind) is not str:
        raise Unreadable(f"resourceType is {json_kind(kind)}, not a string", "name the type")
    if not TYPE_NAME.fullmatch(kind):
        raise Unreadable(f"resourceType {shown(kind)} is not a FHIR resource type name")
    rid = resource.get("id")
    if rid is None:
        raise Unreadable(f"{kind} without an id", "give every resource its id")
    if type(rid) is not str:
        raise Unreadable(f"{kind} id is {json_kind(rid)}, not a string", "give the id as text")
    if not FHIR_ID.fullmatch(rid):
        raise Unreadable(
            f"{kind} id {shown(rid)} is not a FHIR id",
            "use at most 64 letters, digits, '-' and '.'",
        )
    return kind, rid


def _same(first: dict[str, Any], again: dict[str, Any]) -> bool:
    """Equal content; resources not read from files (a server's) are bounded here first."""
    for resource in (first, again):
        if nesting(resource) > MAX_DEPTH:
            raise Unreadable(f"JSON nested deeper than {MAX_DEPTH} levels")
    return first == again


def _is_definition(resource: dict[str, Any]) -> bool:
    code = resource.get("code")
    if type(code) is not dict or type(code.get("coding", [])) is not list:
        return False
    return all(type(c) is dict for c in code.get("coding", [])) and definition.is_definition(
        resource
    )


def _definition(
    resource: dict[str, Any],
    index: int,
    dataset: str | None,
    domain: str | None,
    found: Intake,
    origin: Origin,
) -> None:
    if dataset is None:
        raise Unreadable(
            "an SDTM dataset definition without its sdtm-dataset tag", "tag it with its dataset"
        )
    records = shapes.check_definition(resource)
    if records is not None:
        found.counts[dataset] = records
    first = found.definitions.setdefault(dataset, index)
    if first != index:
        raise Unreadable(
            f"defines dataset {dataset} again (first at {origin.where_else(index, first)})",
            "keep one definition per dataset",
        )
    _domain(found, dataset, domain or dataset)


def _record(
    resource: dict[str, Any],
    index: int,
    kind: str,
    codes: tuple[str, str, str | None],
    found: Intake,
    origin: Origin,
) -> None:
    """A record resource: its dataset's table must build this type."""
    dataset, domain, study = codes
    spec = table(domain)
    if spec is None:  # a domain trialbridge has no mapping for
        found.not_converted[kind] += 1
        return
    if spec.resource != kind:
        raise Unreadable(
            f"tagged as SDTM dataset {dataset}, whose records are {spec.resource} resources",
            "correct the sdtm-dataset tag",
        )
    _domain(found, dataset, domain)
    found.records.setdefault(dataset, []).append(index)
    found.studies[index] = study
    if foreign.is_foreign(resource):
        found.imported[dataset] += 1
    if domain == "DM":
        _subject(resource, index, found, origin)


def _subject(resource: dict[str, Any], index: int, found: Intake, origin: Origin) -> None:
    """A DM Patient: its USUBJID, one Patient per subject."""
    subject = usubjid(resource)
    first = found.usubjids.setdefault(subject, index)
    if first != index:
        raise Unreadable(
            f"USUBJID {shown(subject)} again (first at {origin.where_else(index, first)})",
            "one Patient per subject: keep one",
        )
    found.subjects[f"Patient/{resource['id']}"] = subject


def _domain(found: Intake, dataset: str, domain: str) -> None:
    known = found.domains.setdefault(dataset, domain)
    if known != domain:
        raise Unreadable(
            f"tagged as SDTM domain {domain}, where dataset {dataset} holds {known}",
            "correct the sdtm-domain tag",
        )


def usubjid(patient: dict[str, Any]) -> str:
    """A DM Patient's USUBJID, where the DM table keeps it."""
    spec = table("DM")
    element = next(e for e in spec.elements if e.var == "USUBJID") if spec else None
    value = get_path(patient, element.path) if element else None
    if type(value) is not str or not value.strip():
        path = element.path if element else "USUBJID"
        raise Unreadable(f"no USUBJID ({path})", "give the subject its USUBJID identifier")
    return value
