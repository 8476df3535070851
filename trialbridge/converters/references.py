"""Check that every name the study definition and the specs refer to exists, before any data
is read: a typo in a rule must stop the run, not silently drop a derivation."""

from __future__ import annotations

from typing import Any

from trialbridge.errors import UserError
from trialbridge.mappings.spec import DomainSpec, Join, LookupArgs
from trialbridge.sdtm.metadata import DomainMeta, domain_meta
from trialbridge.study import StudyFolder
from trialbridge.yamlio import Lines, line_of

Specs = dict[str, tuple[DomainSpec, Lines, str]]


def check(folder: StudyFolder, specs: Specs, metas: dict[str, DomainMeta]) -> None:
    """`metas`: each spec's domain metadata (SDTMIG or sponsor-defined)."""
    _study_references(folder, specs, metas)
    sources = {s.name for s in folder.study.sources}
    domains = set(specs) | _derived_domains(specs)
    for spec, lines, shown in specs.values():
        _spec_references(spec, metas[spec.domain], lines, shown, domains, sources)


def _derived_domains(specs: Specs) -> set[str]:
    """Domains a spec's setting makes (EX from EC): a relationship may point at them."""
    return {"EX"} if "EC" in specs and specs["EC"][0].derive_ex else set()


def _dm_variable(dm: DomainMeta, name: str, where: str, what: str) -> None:
    if dm.variable(name) is None:
        raise UserError(f"{what} '{name}' is not a DM variable", where, "use e.g. RFXSTDTC")


def _study_references(folder: StudyFolder, specs: Specs, metas: dict[str, DomainMeta]) -> None:
    study, where = folder.study, folder.where
    dm = metas.get("DM") or domain_meta("DM", study.sdtmig_version)
    dm_dates = _mapped(specs["DM"][0]) if "DM" in specs else set()
    for variable, rule in study.reference_dates.items():
        here = where("reference_dates", variable)
        _dm_variable(dm, variable, here, "reference date")
        if not variable.endswith("DTC"):
            raise UserError(
                f"reference date '{variable}' is not a DM date", here, "use e.g. RFSTDTC"
            )
        for i, ref in enumerate(rule.refs):
            key = "first" if rule.first is not None else "last"
            _reference(ref, specs, metas, dm_dates, where("reference_dates", variable, key, i))
        dm_dates.add(variable)
    for i, element in enumerate(study.elements):
        _dm_date(dm, element.start, dm_dates, where("elements", i, "start"), "element start")
    if study.age is not None:
        _dm_date(dm, study.age.birth, dm_dates, where("age", "birth"), "age birth date")
        _dm_date(dm, study.age.at, dm_dates, where("age", "at"), "age reference date")
    for spec, lines, shown in specs.values():
        if spec.baseline is not None:
            here = f"{shown}:{line_of(lines, ('baseline', 'at'))}"
            _dm_date(dm, spec.baseline.at, dm_dates, here, "baseline reference date")
    if study.arms and "DM" in specs:
        dm, dm_lines, shown = specs["DM"]
        if "ARMCD" not in _mapped(dm):
            raise UserError(
                "study.yaml defines arms, but the DM spec does not map ARMCD",
                f"{shown}:{line_of(dm_lines, ('sources',))}",
                "map ARMCD (the planned arm code) in the DM spec",
            )


def _reference(
    ref: str, specs: Specs, metas: dict[str, DomainMeta], dm_dates: set[str], here: str
) -> None:
    """DOMAIN.VARIABLE must name a mapped domain and a variable its spec maps (a DM
    reference date may also be one set by an earlier rule)."""
    domain, name = ref.split(".")
    if domain == "*":
        return
    if domain == "EX" and domain not in specs and "EC" in specs and specs["EC"][0].derive_ex:
        # EX is made from EC: an EX date is there when EC maps its own
        variable = "EC" + name.removeprefix("--").removeprefix("EX")
        if variable not in _mapped(specs["EC"][0]):
            raise UserError(
                f"'{ref}': EX is derived from EC, whose spec does not map {variable}", here
            )
        return
    if domain not in specs:
        raise UserError(f"'{ref}' names domain {domain}, which no spec in 'domains' maps", here)
    variable = name.replace("--", domain)
    if metas[domain].variable(variable) is None:
        raise UserError(f"'{ref}': {domain} has no variable {name}", here)
    known = dm_dates if domain == "DM" else _mapped(specs[domain][0])
    if variable not in known:
        raise UserError(
            f"'{ref}': the {domain} spec does not map {variable}",
            here,
            f"map {variable} in {specs[domain][2]}, or name a date it maps",
        )


def _dm_date(dm: DomainMeta, name: str, available: set[str], where: str, what: str) -> None:
    """A DM date a rule starts from: a DM variable the DM spec maps or a reference date."""
    _dm_variable(dm, name, where, what)
    if name not in available:
        raise UserError(
            f"{what} '{name}' is neither mapped by the DM spec nor a reference date",
            where,
            f"map {name} in the DM spec or add it under reference_dates",
        )


def _mapped(spec: DomainSpec) -> set[str]:
    """The variables a spec maps (its blocks' variables and melt columns' sets)."""
    names: set[str] = set()
    for block in spec.sources:
        names |= set(block.variables)
        if block.melt:
            names |= {n for sets in block.melt.columns.values() for n in sets}
    return names


def _spec_references(
    spec: DomainSpec,
    meta: DomainMeta,
    lines: Lines,
    shown: str,
    domains: set[str],
    sources: set[str],
) -> None:
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
                    f"group by {spec.domain} variables, e.g. {spec.domain}TESTCD",
                )
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
                    "name a source or a domain in 'domains'",
                )
    for i, rel in enumerate(spec.relationships):
        if rel.with_ not in domains:
            raise UserError(
                f"relationship with {rel.with_}, which no spec maps",
                where("relationships", i),
                "map that domain, or remove the relationship",
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
