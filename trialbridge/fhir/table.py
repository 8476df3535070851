"""The FHIR mapping-table language: which resource a domain's records become, and where each
SDTM variable lives in it. The same table drives building and parsing."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from trialbridge.sdtm.standards import rows
from trialbridge.study import Strict
from trialbridge.yamlio import load_model

BASE = "https://trialbridge.org/fhir"
CDISC_SYSTEM = "https://www.cdisc.org/standards/terminology/"
# NCI Thesaurus, as HL7 terminology registers it: the C-codes of CDISC Controlled Terminology
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


class Coding(Strict):
    code: str
    display: str
    system: str | None = Field(default=None, description="when not the element's own system")


class Derived(Strict):
    """A code written beside an element's value: looked up from it (LOINC for a CDISC vital
    signs test code), one code for any value (`present`), or the value's NCIt C-code in a
    CDISC codelist (`codelist`, with NCI's preferred term as display). Derived, so parsing
    reads the value, not this."""

    path: str
    system: str = NCIT
    map: dict[str, str] = Field(default_factory=dict, description="value -> code")
    present: str | None = Field(default=None, description="the code whenever there is a value")
    codelist: str | None = Field(default=None, description="CDISC codelist: its NCIt C-codes")
    lookup: str | None = Field(
        default=None,
        description="a CSV in fhir/definitions whose rows give the code (`code` column) and "
        "display (`display`) by the values of `by`; a blank cell matches a blank value",
    )
    by: list[str] = Field(default_factory=list, description="the lookup's key variables")
    unless: str | None = Field(
        default=None, description="a variable whose presence in a dataset replaces the lookup"
    )


class Element(Strict):
    """One SDTM variable and its FHIR home.

    `path` is dot-separated with list indexes (`code.coding[0].code`). `codec` says how the
    value is written: string, decimal, integer, dateTime (SDTM ISO 8601 text; where FHIR cannot
    hold it exactly the original text rides in a primitive extension), reference (USUBJID to the
    subject's Patient), study (STUDYID to the ResearchStudy), medication (a reference to a
    Medication resource built for each distinct value, its `code.text`), map (a value map, with
    `default` written for missing values), or coded-extension (a root extension at `url`: the
    SDTM value as its `text` part and, where `codes` has it, a Coding in its `part`)."""

    var: str
    path: str
    codec: Literal[
        "string",
        "decimal",
        "decimal-text",
        "unit",
        "integer",
        "numeric-code",
        "dateTime",
        "reference",
        "study",
        "medication",
        "map",
        "flag",
        "coded-extension",
    ] = "string"
    map: dict[str, str] = Field(default_factory=dict)
    default: str | None = None
    default_when: dict[str, str] = Field(
        default_factory=dict,
        description="map: variable -> the value written, where the record has none of its "
        "own, when it has that variable (a medication with an end date is completed)",
    )
    system: str | None = Field(default=None, description="set beside the value's `code`")
    system_with: list[str] = Field(
        default_factory=list,
        description="variables of later items of the list: where one has a value, the system "
        "is written even without this one (a coding of its system alone, not a gap)",
    )
    unit_code: str | None = Field(
        default=None, description="path for the UCUM code of this unit (valueQuantity.code)"
    )
    url: str | None = Field(default=None, description="coded-extension: the extension URL")
    part: str | None = Field(default=None, description="coded-extension: the Coding's part")
    codes: dict[str, Coding] = Field(default_factory=dict, description="coded-extension")
    also: list[Derived] = Field(default_factory=list)
    extension: str | None = Field(
        default=None, description="the URL of a root extension `path` lies in (R4, R5 backport)"
    )
    present: dict[str, str] = Field(
        default_factory=dict, description="path -> constant, written where the value is"
    )
    unit: str | None = Field(
        default=None, description="decimal-text: the unit variable, written beside the number"
    )
    of: str | None = Field(default=None, description="unit: the decimal-text variable it is for")
    comparator: str | None = Field(
        default=None, description="decimal-text: path of the comparator (<0.5 -> <, 0.5)"
    )
    text: str | None = Field(
        default=None, description="decimal-text: path for a value that is not a number"
    )
    needs: dict[str, str] = Field(
        default_factory=dict,
        description="path -> a context value the element is written with (treatment); "
        "records without it keep the value in sdtm-variable",
    )

    @property
    def leaves_over(self) -> bool:
        """Whether some values may not fit the element: those ride in sdtm-variable."""
        partial = ("decimal-text", "unit", "flag")
        return self.codec in partial or bool(self.needs)


class Summary(Strict):
    """In grouped tables: a FHIR element filled from the group's records that match `where`
    (variable -> value), taking `value`; with `many`, each match fills its own `[*]` index."""

    path: str
    where: dict[str, str] = Field(default_factory=dict)
    value: str
    codec: Literal["string", "dateTime", "map", "boolean"] = "string"
    map: dict[str, str] = Field(default_factory=dict, description="boolean: values -> true/false")
    default: str | None = Field(default=None, description="written when no record matches")
    otherwise: str | None = Field(default=None, description="map: for values not in `map`")
    present: str | None = Field(default=None, description="written when a record matches")
    system: str | None = None
    many: bool = False
    start: int = Field(default=0, description="first index `[*]` takes with `many`")


class Amended(Strict):
    """A Findings result changed on the server after trialbridge wrote it: the value there is
    the result, the other side of the result (original or standardised) is worked out again
    from it by unit conversion (fhir/amended.py), and the status is kept in SUPP--."""

    status: list[str] = Field(description="the statuses that say so: amended, corrected")
    value: Literal["original", "standard"] = Field(
        description="which result the resource's value holds: --ORRES or --STRESN"
    )


class Panel(Strict):
    """A panel resource derived from the records of its member tests (fhir/panels.py)."""

    code: str = Field(description="the panel's LOINC code (a profile of vital_signs.yaml)")
    display: str
    text: str
    members: list[str] = Field(description="test codes, in the profile's component order")
    by: list[str] = Field(description="variables the members share (those the dataset has)")


class Table(Strict):
    """One resource per record; or, with `group_by`, one per group of records (all records
    when empty): the records ride in sdtm-record extensions, `summary` fills FHIR elements."""

    domain: str
    resource: str
    id_from: list[str] = Field(description="variables whose values identify the resource")
    group_by: list[str] | None = None
    fixed: dict[str, Any] = Field(default_factory=dict, description="path -> constant")
    elements: list[Element] = Field(default_factory=list)
    summary: list[Summary] = Field(default_factory=list)
    study: str | None = Field(
        default=None,
        description="how a record points to the study: an element (AdverseEvent's study), or "
        "`extension` for R4's workflow-researchStudy extension",
    )
    encounter: str | None = Field(
        default=None,
        description="the element referring to the record's visit Encounter (SV's record of "
        "the subject's VISITNUM), e.g. encounter or context",
    )
    amended: Amended | None = None
    panels: list[Panel] = Field(default_factory=list)
    vital_signs: bool = Field(
        default=False,
        description="claim an R4 vital signs profile in meta.profile where a record meets it "
        "(fhir/definitions/vital_signs.yaml)",
    )


@cache
def table(domain: str) -> Table | None:
    """The shipped table for a domain, or None when trialbridge has none for it."""
    folder = resources.files("trialbridge.mappings.fhir")
    name = f"{domain.lower()}.yaml"
    if not folder.joinpath(name).is_file():
        return None
    model, _ = load_model(Path(str(folder.joinpath(name))), Table, f"mappings/fhir/{name}")
    return model


# R4's extension pointing a resource to the study it belongs to (ResearchStudy)
WORKFLOW_STUDY = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"
# The SDTM text of a date/time that FHIR cannot hold exactly (no seconds or no time zone, or an
# unknown month), on the primitive element that holds its nearest FHIR value.
ORIGINAL_TEXT = f"{BASE}/StructureDefinition/sdtm-original-text"
# Any SDTM variable without a standard FHIR element: a complex extension with `name` (the
# variable) and `value` (valueString for Char, valueDecimal for Num).
SDTM_VARIABLE = f"{BASE}/StructureDefinition/sdtm-variable"
# In grouped tables: one SDTM record, every populated variable as a part named after it.
SDTM_RECORD = f"{BASE}/StructureDefinition/sdtm-record"
# On each resource of a record table: the record's position in its dataset (valueInteger), so
# parsing restores the sponsor's record order even when a server returns resources unordered.
SDTM_ORDER = f"{BASE}/StructureDefinition/sdtm-order"
UCUM = "http://unitsofmeasure.org"


def mapped_resource_types() -> list[str]:
    """Every resource type a shipped table builds."""
    folder = resources.files("trialbridge.mappings.fhir")
    names = [p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")]
    return sorted({t.resource for t in (table(n) for n in names) if t is not None})


@cache
def ucum_codes() -> dict[str, str]:
    """CDISC UNIT submission value -> UCUM code: the SDTM hub's table of every CDISC unit
    (`sdtm/standards/cdisc_ucum.csv`, each code checked against the UCUM grammar), then this
    folder's `ucum.csv`, which wins: the codes the FHIR R4 vital signs profile requires
    (`/min` for a heart rate) and units CDISC CT does not hold."""
    codes = {row["cdisc"]: row["ucum"] for row in rows("cdisc_ucum.csv") if row["ucum"]}
    path = resources.files("trialbridge.fhir.definitions").joinpath("ucum.csv")
    with path.open(encoding="utf-8") as handle:
        found = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return codes | {row["cdisc_unit"]: row["ucum"] for row in found}
