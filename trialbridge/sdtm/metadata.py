"""SDTMIG variable and dataset metadata, loaded from the shipped CSV tables: one folder per
SDTMIG version (standards/sdtmig-<version>/, see its PROVENANCE.md), and the SDTM v2.0 general
observation class variables that sponsor-defined domains are built from."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from trialbridge.sdtm.standards import rows

DEFAULT_VERSION = "3.4"


class VariableMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    domain: str
    order: int
    name: str
    label: str
    type: Literal["Char", "Num"]
    codelist: str | None
    format: str | None
    role: str
    core: Literal["Req", "Exp", "Perm"]


class DomainMeta(BaseModel):
    model_config = ConfigDict(frozen=True)

    domain: str
    label: str
    dataset_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[VariableMeta, ...]
    sponsor_defined: bool = False

    def variable(self, name: str) -> VariableMeta | None:
        return next((v for v in self.variables if v.name == name), None)


def _variable(domain: str, row: dict[str, str]) -> VariableMeta:
    return VariableMeta(
        domain=domain,
        order=int(row["order"]),
        name=row["name"],
        label=row["label"],
        type=row["type"],  # type: ignore[arg-type]
        codelist=row["codelist"] or None,
        format=row["format"] or None,
        role=row["role"],
        core=row["core"],  # type: ignore[arg-type]
    )


@cache
def shipped_versions() -> tuple[str, ...]:
    """The SDTMIG versions whose tables ship with trialbridge (folders sdtmig-<version>)."""
    folder = resources.files("trialbridge.sdtm.standards")
    found = [p.name.removeprefix("sdtmig-") for p in folder.iterdir() if p.name[:7] == "sdtmig-"]
    return tuple(sorted(found))


def check_version(version: str) -> str:
    """`version` if its tables ship, else a ValueError naming those that do and how to add one."""
    if version not in shipped_versions():
        raise ValueError(
            f"SDTMIG {version} is not shipped (shipped: {', '.join(shipped_versions())}); "
            f"another version needs its tables in trialbridge/sdtm/standards/sdtmig-{version}/ "
            "(scripts/build_sdtmig.py builds them from a CDISC Library export)"
        )
    return version


@cache
def standard_domains(version: str = DEFAULT_VERSION) -> dict[str, DomainMeta]:
    """Every dataset the shipped SDTMIG tables of `version` describe, by domain code."""
    folder = f"sdtmig-{check_version(version)}"
    variables: dict[str, list[VariableMeta]] = {}
    for row in rows(f"{folder}/variables.csv"):
        variables.setdefault(row["domain"], []).append(_variable(row["domain"], row))
    return {
        row["domain"]: DomainMeta(
            domain=row["domain"],
            label=row["label"],
            dataset_class=row["class"],
            structure=row["structure"],
            keys=tuple(row["keys"].split()),
            variables=tuple(sorted(variables[row["domain"]], key=lambda v: v.order)),
        )
        for row in rows(f"{folder}/datasets.csv")
    }


def domain_meta(domain: str, version: str = DEFAULT_VERSION) -> DomainMeta:
    """Metadata for a domain; SUPP-- datasets share the SUPPQUAL table."""
    domains = standard_domains(version)
    if domain.startswith("SUPP") and domain != "SUPPQUAL":
        base = domains["SUPPQUAL"]
        return base.model_copy(
            update={"domain": domain, "label": f"Supplemental Qualifiers for {domain[4:]}"}
        )
    return domains[domain]


@cache
def general_classes() -> dict[str, dict[str, str]]:
    """The classes a sponsor-defined domain may have (SDTMIG 3.4 section 2.6), each with the
    structure and natural keys (`--` for the prefix) a domain gets unless its spec gives them."""
    return {row["class"]: row for row in rows("classes.csv")}


@cache
def _class_rows() -> dict[str, tuple[dict[str, str], ...]]:
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows("class_variables.csv"):
        by_class.setdefault(row["class"], []).append(row)
    return {name: tuple(members) for name, members in by_class.items()}


def custom_domain(
    domain: str,
    dataset_class: str,
    label: str,
    structure: str | None = None,
    keys: tuple[str, ...] | None = None,
) -> DomainMeta:
    """A sponsor-defined domain: its class's SDTM variables under the domain's prefix
    (identifiers, topic, qualifiers, timing), so the generic derivations apply to it."""
    variables = tuple(
        _variable(domain, {**row, "name": row["name"].replace("--", domain, 1)})
        for row in _class_rows()[dataset_class]
    )
    names = {v.name for v in variables}
    defaults = general_classes()[dataset_class]
    default = (k.replace("--", domain, 1) for k in defaults["keys"].split())
    return DomainMeta(
        domain=domain,
        label=label,
        dataset_class=dataset_class,
        structure=structure or defaults["structure"],
        keys=keys or tuple(k for k in default if k in names),
        variables=variables,
        sponsor_defined=True,
    )
