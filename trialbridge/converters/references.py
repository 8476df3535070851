"""Check that every name the study definition and the specs refer to exists, before any data
is read: a typo in a rule must stop the run, not silently drop a derivation."""

from __future__ import annotations

from typing import Any

from trialbridge.errors import UserError
from trialbridge.mappings.spec import DomainSpec, Join, LookupArgs
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.study import StudyFolder
from trialbridge.yamlio import Lines, line_of

Specs = dict[str, tuple[DomainSpec, Lines, str]]


def check(folder: StudyFolder, specs: Specs) -> None:
    _study_references(folder, specs)
    sources = {s.name for s in folder.study.sources}
    for spec, lines, shown in specs.values():
        _spec_references(spec, lines, shown, set(specs), sources)


def _dm_variable(name: str, where: str, what: str) -> None:
    if domain_meta("DM").variable(name) is None:
        raise UserError(f"{what} '{name}' is not a DM variable", where, "use e.g. RFXSTDTC")


def _study_references(folder: StudyFolder, specs: Specs) -> None:
    study, where = folder.study, folder.where

    for variable, rule in study.reference_dates.items():
        _dm_variable(variable, where("reference_dates", variable), "reference date")
        for i, ref in enumerate(rule.refs):
            domain, name = ref.split(".")
            key = "first" if rule.first is not None else "last"
            here = where("reference_dates", variable, key, i)
            if domain != "*" and domain not in specs:
                raise UserError(
                    f"'{ref}' names domain {domain}, which no spec in 'domains' maps", here
                )
            if domain != "*" and domain_meta(domain).variable(name.replace("--", domain)) is None:
                raise UserError(f"'{ref}': {domain} has no variable {name}", here)
    for i, element in enumerate(study.elements):
        _dm_variable(element.start, where("elements", i, "start"), "element start")
    if study.age is not None:
        _dm_variable(study.age.birth, where("age", "birth"), "age birth date")
        _dm_variable(study.age.at, where("age", "at"), "age reference date")
    if study.arms and "DM" in specs:
        dm, dm_lines, shown = specs["DM"]
        mapped = {n for block in dm.sources for n in block.variables}
        if "ARMCD" not in mapped:
            raise UserError(
                "study.yaml defines arms, but the DM spec does not map ARMCD",
                f"{shown}:{line_of(dm_lines, ('sources',))}",
                "map ARMCD (the planned arm code) in the DM spec",
            )


def _spec_references(
    spec: DomainSpec, lines: Lines, shown: str, domains: set[str], sources: set[str]
) -> None:
    meta = domain_meta(spec.domain)

    def where(*path: Any) -> str:
        return f"{shown}:{line_of(lines, path)}"

    for qnam in spec.supplemental:
        if meta.variable(qnam) is not None:
            raise UserError(
                f"{qnam} is a standard {spec.domain} variable, not a supplemental qualifier",
                where("supplemental", qnam),
                "map it as a variable instead",
            )
    if spec.baseline is not None:
        for i, name in enumerate(spec.baseline.by):
            if meta.variable(name) is None:
                raise UserError(
                    f"baseline groups by {name}, not a {spec.domain} variable",
                    where("baseline", "by", i),
                )
        _dm_variable(spec.baseline.at, where("baseline", "at"), "baseline reference date")
        for i, flag in enumerate(spec.baseline.flags):
            if meta.variable(spec.domain + flag) is None:
                raise UserError(
                    f"baseline flag {flag}: {spec.domain} has no variable {spec.domain}{flag}",
                    where("baseline", "flags", i),
                    "use LOBXFL and/or BLFL",
                )
    for i, block in enumerate(spec.sources):
        for table, path in _tables(block, ("sources", i)):
            if table not in sources and table not in domains:
                raise UserError(
                    f"table '{table}' is neither a source in study.yaml nor a mapped domain",
                    where(*path),
                )
    for i, rel in enumerate(spec.relationships):
        if rel.with_ not in domains:
            raise UserError(
                f"relationship with {rel.with_}, which no spec maps", where("relationships", i)
            )


def _tables(node: Any, path: tuple[Any, ...]) -> list[tuple[str, tuple[Any, ...]]]:
    """(table, YAML path) of every join and lookup in a block."""
    from pydantic import BaseModel

    if isinstance(node, Join | LookupArgs):
        return [(node.table, (*path, "table"))]
    if isinstance(node, BaseModel):
        found = []
        for name, info in type(node).model_fields.items():
            key = info.alias or name
            found += _tables(getattr(node, name), (*path, key))
        return found
    if isinstance(node, list | tuple):
        return [t for i, item in enumerate(node) for t in _tables(item, (*path, i))]
    if isinstance(node, dict):
        return [t for k, item in node.items() for t in _tables(item, (*path, k))]
    return []
