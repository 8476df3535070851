"""A folder of SDTM datasets -> every FHIR resource: build each dataset, attach SUPP-- and
RELREC to the resources they qualify, render the JSON, validate it all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from trialbridge.bulk import collector_paused
from trialbridge.errors import UserError
from trialbridge.fhir import links, relrec, supplemental
from trialbridge.fhir.build import (
    Built,
    build_dataset,
    build_definitions,
    build_medications,
    domain_of,
)
from trialbridge.fhir.checks import Finding
from trialbridge.fhir.column_checks import validate_built
from trialbridge.fhir.context import Context
from trialbridge.fhir.panels import build_panels
from trialbridge.fhir.table import table
from trialbridge.sdtm.dataset import Dataset


@dataclass
class Assembled:
    built: list[Built]
    counts: dict[str, int]  # SDTM records placed, per dataset
    skipped: list[str]  # datasets without a FHIR table

    def findings(self) -> list[Finding]:
        return validate_built(self.built)

    def resources(self) -> list[dict[str, Any]]:
        """The resources as dicts (for parsing in memory)."""
        with collector_paused():
            return [orjson.loads(text) for b in self.built for text in b.texts().to_pylist()]


def assemble(datasets: dict[str, Dataset], sites: dict[str, str] | None = None) -> Assembled:
    """Every resource of the datasets; `sites`: SITEID -> IANA time zone (`*`: every site),
    for the UTC offset of date-times."""
    study_id = study_of(datasets)
    context = Context.of(datasets, sites or {}, study_id)
    built: dict[str, Built] = {}
    counts: dict[str, int] = {}
    skipped: list[str] = []
    for name, dataset in datasets.items():
        if table(domain_of(dataset)) is None:
            skipped.append(name)
            continue
        built[name] = build_dataset(dataset, study_id, context)
        counts[name] = len(dataset.frame)
        spec = table(domain_of(dataset))
        if spec is not None and spec.panels:
            for panel in build_panels(dataset, built[name], spec, study_id, context):
                built[panel.dataset] = panel
        medications = build_medications(dataset, study_id)
        if medications is not None:
            built[medications.dataset] = medications
    for name in [n for n in skipped if n.startswith("SUPP") and _parent(n, datasets)]:
        parent = datasets[name[4:]].frame
        counts[name] = supplemental.attach(datasets[name], parent, built, study_id)
        skipped.remove(name)
    if "RELREC" in skipped:
        counts["RELREC"] = relrec.attach(datasets["RELREC"], built, study_id)
        skipped.remove("RELREC")
    _link(built, datasets, study_id)
    placed = [d for n, d in datasets.items() if n not in skipped]
    built["definitions"] = build_definitions(placed, study_id)
    return Assembled(list(built.values()), counts, skipped)


def _link(built: dict[str, Built], datasets: dict[str, Dataset], study_id: str) -> None:
    """The enrolled Group, the study's arms and enrollment, the subjects' arms."""
    dm = datasets["DM"]
    group = links.enrolled_group(dm, study_id)
    built[group.dataset] = group
    sites = None
    if "TS" in built and built["TS"].dicts:
        design = [built[name] for name in ("TA", "TE", "TV") if name in built]
        links.link_study(built["TS"].dicts[0], group, datasets.get("TA"), design)
        sites = links.site_studies(dm, built["TS"].dicts[0], study_id)
        if sites is not None:
            built[sites.dataset] = sites
    if "DS" in built:
        ta = datasets.get("TA")
        arms = set(ta.frame["ARMCD"].dropna().astype(str)) if ta is not None else None
        links.link_subjects(built["DS"].dicts, dm, study_id, arms, sites is not None)


def _parent(supp: str, datasets: dict[str, Dataset]) -> bool:
    """SUPPLBCH qualifies LBCH, SUPPAE qualifies AE: is that dataset here with a table?"""
    parent = datasets.get(supp[4:])
    return parent is not None and table(domain_of(parent)) is not None


def validated(
    datasets: dict[str, Dataset], where: object, sites: dict[str, str] | None = None
) -> Assembled:
    """Assembled resources, or one clear error naming the first invalid resource."""
    result = assemble(datasets, sites)
    findings = result.findings()
    if findings:
        raise UserError(
            f"{len(findings)} FHIR validation finding(s), the first: {findings[0].line()}",
            where,
            "fix the SDTM value or the mapping table it names",
        )
    return result


def study_of(datasets: dict[str, Dataset]) -> str:
    dm = datasets.get("DM")
    if dm is None or "STUDYID" not in dm.frame or dm.frame.empty:
        raise UserError("no DM dataset with STUDYID", "SDTM folder", "FHIR needs DM's subjects")
    return str(dm.frame["STUDYID"].iat[0])
