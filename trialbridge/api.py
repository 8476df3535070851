"""The Python API that the CLI and users call."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trialbridge.errors import UserError
from trialbridge.fhir import bundles, relrec, supplemental
from trialbridge.fhir.build import build_dataset
from trialbridge.fhir.checks import validate
from trialbridge.fhir.parse import parse
from trialbridge.fhir.table import table as fhir_table
from trialbridge.roundtrip import DomainResult, compare
from trialbridge.sdtm import datasetjson, define_html, define_xml, xpt
from trialbridge.sdtm.build import build
from trialbridge.sdtm.ct import Terminology, load_terminology, shipped_terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.define_model import Builder
from trialbridge.sdtm.read import read_folder
from trialbridge.sdtm.write import write_text
from trialbridge.study import Study, load_study

FORMATS = ("xpt", "json", "ndjson", "fhir")


@dataclass(frozen=True)
class Converted:
    datasets: dict[str, Dataset]
    files: list[Path]
    terminology: str


def terminology_for(study_dir: Path, ct_file: Path | None, declared: str | None) -> Terminology:
    """The CT to use: an explicit file, else the study's declared file, else the shipped subset."""
    if ct_file is not None:
        return load_terminology(ct_file)
    if declared:
        return load_terminology(study_dir / declared)
    return shipped_terminology()


def creation_time(study: Study) -> datetime:
    """The study's 'created', else SOURCE_DATE_EPOCH, else the SAS epoch: never the clock."""
    if study.created is not None:
        return study.created
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC).replace(tzinfo=None)
    return xpt.SAS_EPOCH


def convert(
    study_dir: Path,
    out_dir: Path,
    ct_file: Path | None = None,
    formats: tuple[str, ...] = ("xpt",),
) -> Converted:
    """Native records -> SDTM datasets in `out_dir/sdtm`, as XPT v5 and/or Dataset-JSON 1.1.
    Every dataset is checked before any file is written, so a bad input leaves no output."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UserError(
            f"unknown format {', '.join(unknown) or '(none)'}",
            "--format",
            f"use one or more of {', '.join(FORMATS)}, comma-separated",
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError("the output path is a file", out_dir, "give a folder for --out")
    folder = load_study(study_dir)
    ct = terminology_for(study_dir, ct_file, folder.study.terminology)
    built = build(folder, ct)
    datasets = built.datasets
    if "xpt" in formats:
        for dataset in datasets.values():
            xpt.check(dataset)
    target = out_dir / "sdtm"
    staging = out_dir / ".sdtm.partial"
    created = creation_time(folder.study)
    context = datasetjson.FileContext(folder.study.studyid, folder.study.sponsor, created)
    files: list[Path] = []
    define = Builder(folder.study, ct, created, built.specs, built.provenance)
    shutil.rmtree(staging, ignore_errors=True)
    for dataset in datasets.values():
        written = []
        if "xpt" in formats:
            written.append(xpt.write(dataset, staging, created, check=False))
        for kind in ("json", "ndjson"):
            if kind in formats:
                table = dataset.table()
                written.append(datasetjson.write(table, staging, context, kind == "ndjson"))
        if not written:  # only FHIR asked for: the datasets are still described as XPT
            written.append(xpt.write(dataset, staging, created, check=False))
        define.add(dataset, written[0].name)  # the first format asked for, XPT if any
        files += written
    files += write_define(define, staging)
    replace_folder(staging, target)
    files = [target / f.name for f in files]
    if "fhir" in formats:  # built here, each resource names its native record (meta.source)
        files += _fhir_write(datasets, out_dir / "fhir", 500).files
    return Converted(datasets=datasets, files=files, terminology=ct.version)


def replace_folder(staging: Path, target: Path) -> None:
    """Swap the freshly written folder in: no file of an earlier run survives, and a run that
    fails before this point leaves the earlier output as it was."""
    retired = target.with_name(".sdtm.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


def write_define(define: Builder, target: Path) -> list[Path]:
    """define.xml (checked against the Define-XML 2.1 XSD and its own references) and
    define.html from the same model."""
    document = define_xml.render(define.model)
    problems = define_xml.validate(document)
    if problems:
        raise RuntimeError(f"define.xml is not valid Define-XML 2.1: {problems[0]}")
    xml_path = write_text(target / "define.xml", document)
    html_path = write_text(target / "define.html", define_html.render(define.model).encode())
    return [xml_path, html_path]


def fhir_build(sdtm_dir: Path, out_dir: Path, bundle_size: int = 500) -> FhirBuilt:
    """SDTM datasets -> FHIR R4 bundles and NDJSON; domains without a table are listed."""
    datasets = read_folder(sdtm_dir)
    return _fhir_write(datasets, out_dir, bundle_size)


@dataclass(frozen=True)
class FhirBuilt:
    resources: dict[str, int]
    skipped: list[str]
    files: list[Path]


def _fhir_write(datasets: dict[str, Dataset], out_dir: Path, bundle_size: int) -> FhirBuilt:
    """Build, validate every resource, then write; invalid FHIR is never written."""
    resources, counts, skipped = _resources(datasets)
    findings = validate(resources)
    if findings:
        raise UserError(
            f"{len(findings)} FHIR validation finding(s), the first: {findings[0].line()}",
            out_dir,
            "fix the SDTM value or the mapping table it names",
        )
    files = bundles.write(resources, out_dir, bundle_size)
    return FhirBuilt(resources=counts, skipped=skipped, files=files)


def _resources(
    datasets: dict[str, Dataset],
) -> tuple[list[dict], dict[str, int], list[str]]:
    """(resources, count per domain, domains without a FHIR table)."""
    study_id = _study_id(datasets)
    resources: list[dict] = []
    counts: dict[str, int] = {}
    skipped: list[str] = []
    for name, dataset in datasets.items():
        if fhir_table(name) is None:
            skipped.append(name)
            continue
        built = build_dataset(dataset, study_id)
        counts[name] = len(built)
        resources += built
    by_id = {r["id"]: r for r in resources}
    for name in [n for n in skipped if n.startswith("SUPP") and fhir_table(n[4:])]:
        counts[name] = supplemental.attach(datasets[name], by_id, study_id)
        skipped.remove(name)
    if "RELREC" in skipped:
        counts["RELREC"] = relrec.attach(datasets["RELREC"], by_id, study_id)
        skipped.remove("RELREC")
    return resources, counts, skipped


def _study_id(datasets: dict[str, Dataset]) -> str:
    dm = datasets.get("DM")
    if dm is None or "STUDYID" not in dm.frame or dm.frame.empty:
        raise UserError("no DM dataset with STUDYID", "SDTM folder", "FHIR needs DM's subjects")
    return str(dm.frame["STUDYID"].iat[0])


def fhir_to_sdtm(fhir_dir: Path, out_dir: Path) -> dict[str, Dataset]:
    """FHIR resources (NDJSON or bundles) -> SDTM XPT files in out_dir."""
    datasets = parse(bundles.read(fhir_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    for dataset in datasets.values():
        xpt.write(dataset, out_dir)
    return datasets


def roundtrip(sdtm_dir: Path) -> tuple[list[DomainResult], list[str]]:
    """SDTM -> FHIR (as JSON text) -> SDTM, every record and variable compared."""
    datasets = read_folder(sdtm_dir)
    resources, _, skipped = _resources(datasets)
    back = parse(json.loads(json.dumps(resources)))
    results = [compare(d, back.get(n)) for n, d in datasets.items() if n not in skipped]
    return results, skipped
