"""SDTMIG variable and dataset metadata, loaded from the shipped CSV tables."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict


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

    def variable(self, name: str) -> VariableMeta | None:
        return next((v for v in self.variables if v.name == name), None)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("trialbridge.sdtm.standards").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def standard_domains() -> dict[str, DomainMeta]:
    """Every domain the shipped SDTMIG tables describe, by domain code."""
    variables: dict[str, list[VariableMeta]] = {}
    for row in _rows("variables.csv"):
        meta = VariableMeta(
            domain=row["domain"],
            order=int(row["order"]),
            name=row["name"],
            label=row["label"],
            type=row["type"],  # type: ignore[arg-type]
            codelist=row["codelist"] or None,
            format=row["format"] or None,
            role=row["role"],
            core=row["core"],  # type: ignore[arg-type]
        )
        variables.setdefault(meta.domain, []).append(meta)
    return {
        row["domain"]: DomainMeta(
            domain=row["domain"],
            label=row["label"],
            dataset_class=row["class"],
            structure=row["structure"],
            keys=tuple(row["keys"].split()),
            variables=tuple(sorted(variables[row["domain"]], key=lambda v: v.order)),
        )
        for row in _rows("datasets.csv")
    }


def domain_meta(domain: str) -> DomainMeta:
    """Metadata for a domain; SUPP-- datasets share the SUPPQUAL table."""
    domains = standard_domains()
    if domain.startswith("SUPP") and domain != "SUPPQUAL":
        base = domains["SUPPQUAL"]
        return base.model_copy(
            update={"domain": domain, "label": f"Supplemental Qualifiers for {domain[4:]}"}
        )
    return domains[domain]
