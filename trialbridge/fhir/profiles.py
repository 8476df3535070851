"""The FHIR R4 vital signs profiles as data (definitions/vital_signs.yaml): which one a record
may claim in meta.profile, and the FHIRPath invariant that checks a resource claiming it. The
build claims a profile only where the record meets it; the validator checks every claim."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from trialbridge.fhir.encode import Placed
from trialbridge.study import Strict
from trialbridge.yamlio import load_model

SD = "http://hl7.org/fhir/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PAIR = "\x1f"  # joins a (code, unit) pair into one string; neither holds a unit separator


class Component(Strict):
    loinc: str
    units: list[str]


class Profile(Strict):
    name: str = Field(description="the profile's id: its URL is SD + name")
    loinc: list[str] = Field(description="the LOINC codes a resource of it has as its code")
    units: list[str] = Field(default_factory=list, description="UCUM codes its value may have")
    components: list[Component] = Field(default_factory=list)

    @property
    def url(self) -> str:
        return SD + self.name


class Coding(Strict):
    system: str
    code: str


class VitalSigns(Strict):
    base: str
    category: Coding
    profiles: list[Profile]


@cache
def vital_signs() -> VitalSigns:
    path = resources.files("trialbridge.fhir.definitions").joinpath("vital_signs.yaml")
    name = "trialbridge/fhir/definitions/vital_signs.yaml"
    model, _ = load_model(Path(str(path)), VitalSigns, name)
    return model


def by_loinc() -> dict[str, Profile]:
    """LOINC code -> the profile a resource with that code claims."""
    return {code: p for p in vital_signs().profiles for code in p.loinc}


def claims(
    loinc: pa.Array, unit: pa.Array, has_value: pa.Array, absent: pa.Array, effective: pa.Array
) -> pa.Array:
    """Each record's profile URL, where it meets the profile: its LOINC code names one, an
    effective time, and a value in one of the profile's units or a dataAbsentReason. The
    (code, unit) pairs are matched as joined strings by one vectorised isin."""
    known = {code: p for code, p in by_loinc().items() if not p.components}
    codes = pd.Series(loinc.to_pandas(), dtype=object)
    units = pd.Series(unit.to_pandas(), dtype=object)
    valued = np.asarray(pc.fill_null(has_value, False))
    missing = np.asarray(pc.fill_null(absent, False))
    timed = np.asarray(pc.fill_null(effective, False))
    url = codes.map({code: p.url for code, p in known.items()})
    pairs = codes.fillna("").astype(str) + PAIR + units.fillna("").astype(str)
    allowed = {code + PAIR + u for code, p in known.items() for u in p.units}
    in_units = pairs.isin(allowed).to_numpy()
    fits = url.notna().to_numpy() & timed & ((valued & in_units) | (~valued & missing))
    return pa.array(url.where(fits, None).to_numpy(dtype=object), pa.large_string())


def _coding(system: str, codes: list[str]) -> str:
    listed = " or ".join(f"code = '{c}'" for c in codes)
    return f"coding.where(system = '{system}' and ({listed})).exists()"


def _quantity(units: list[str]) -> str:
    listed = " or ".join(f"valueQuantity.code = '{u}'" for u in units)
    return (
        "(valueQuantity.exists() implies (valueQuantity.value.exists() and "
        f"valueQuantity.system = '{UCUM}' and ({listed})))"
    )


def expression(profile: Profile) -> str:
    """FHIRPath that holds for every Observation claiming the profile that meets it."""
    category = vital_signs().category
    parts = [
        "status.exists()",
        f"category.{_coding(category.system, [category.code])}",
        f"code.{_coding(LOINC, profile.loinc)}",
        "subject.exists()",
        "effective.exists()",
    ]
    if profile.components:
        for component in profile.components:
            parts.append(
                f"component.where(code.{_coding(LOINC, [component.loinc])} and "
                f"valueQuantity.value.exists() and {_quantity(component.units)}).count() = 1"
            )
    else:
        parts += [_quantity(profile.units), "(value.exists() or dataAbsentReason.exists())"]
    claimed = f"meta.profile.where($this = '{profile.url}').empty()"
    return f"{claimed} or ({' and '.join(parts)})"


READS = [
    "meta.profile",
    "code.coding.system",
    "code.coding.code",
    "category.coding.system",
    "category.coding.code",
    "valueQuantity.code",
    "valueQuantity.system",
    "component.code.coding.code",
    "component.valueQuantity.code",
]


def claimed(placed: list[Placed]) -> Placed | None:
    """meta.profile[0] for a built Observation table's records, from what was placed: the
    LOINC coding, the value and its UCUM code, the dataAbsentReason, the effective time."""
    by_path = {p.path: p for p in placed}
    loinc = next(
        (
            by_path.get(p.path.rpartition(".")[0] + ".code")
            for p in placed
            if p.path.startswith("code.coding")
            and p.path.endswith(".system")
            and LOINC in set(pc.unique(p.values).to_pylist())
        ),
        None,
    )
    value, effective = by_path.get("valueQuantity.value"), by_path.get("effectiveDateTime")
    if loinc is None or effective is None:
        return None
    length = len(loinc.values)
    nothing = pa.nulls(length, pa.large_string())
    unit = by_path.get("valueQuantity.code")
    absent = [p for path, p in by_path.items() if path.startswith("dataAbsentReason.")]
    missing = pa.array(np.zeros(length, dtype=bool))
    for one in absent:
        missing = pc.or_(missing, pc.is_valid(one.values))
    column = claims(
        loinc.values,
        unit.values if unit is not None else nothing,
        pc.is_valid(value.values) if value is not None else pa.array(np.zeros(length, bool)),
        missing,
        pc.is_valid(effective.values),
    )
    return Placed("meta.profile[0]", column, "uri", safe=True)
