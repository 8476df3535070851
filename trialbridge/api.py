"""The Python API that the CLI and users call."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trialbridge import error_report, lineage_files
from trialbridge import spec_tests as spec_tests_run
from trialbridge.build import Built, build
from trialbridge.conformance import baseline as compared
from trialbridge.conformance import engine as conformance
from trialbridge.conformance import fhir_folder, profiles, report_html, report_json, report_xlsx
from trialbridge.conformance.baseline import Comparison
from trialbridge.conformance.engine import Finding
from trialbridge.converters import reconciliation
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.fhir import bundles, foreign
from trialbridge.fhir.assemble import Assembled, validated
from trialbridge.fhir.build import extension_only
from trialbridge.fhir.parse import Parsed, parse
from trialbridge.fhir.parse import convert as convert_fhir
from trialbridge.fhir.server.checkpoint import NAME as CHECKPOINT
from trialbridge.fhir.server.connect import Access, connect
from trialbridge.fhir.server.pull import pull
from trialbridge.fhir.server.push import Summary, manifest, push
from trialbridge.fhir.server.transport import Server
from trialbridge.outputs import check_out_dir, staged
from trialbridge.roundtrip import DomainResult, compare
from trialbridge.sdtm import datasetjson, define_html, define_xml, xpt
from trialbridge.sdtm.ct import Terminology, load_terminology, shipped_terminology
from trialbridge.sdtm.dataset import Dataset, SourceFile
from trialbridge.sdtm.define_model import Builder
from trialbridge.sdtm.define_read import Define, read_define
from trialbridge.sdtm.fill import Filled, fill
from trialbridge.sdtm.left_empty import LeftEmpty
from trialbridge.sdtm.read import dataset_files, read_folder, repeated_names
from trialbridge.sdtm.write import write_text
from trialbridge.study import Study, StudyFolder, load_study

FORMATS = ("xpt", "json", "ndjson", "fhir")


@dataclass(frozen=True)
class Converted:
    datasets: dict[str, Dataset]
    files: list[Path]
    terminology: str
    findings: list[Finding]
    reconciled: str = ""  # the reconciliation's totals, one line
    left_empty: tuple[LeftEmpty, ...] = ()
    sponsor_terms: int = 0  # values define.xml declares as extensions of CDISC codelists


def terminology_for(folder: StudyFolder, ct_file: Path | None) -> Terminology:
    """The CT to use: an explicit file, else the study's declared file, else the shipped subset."""
    if ct_file is not None:
        return load_terminology(ct_file)
    if folder.study.terminology:
        return load_terminology(folder.path_of("terminology", folder.study.terminology))
    return shipped_terminology()


def creation_time(study: Study) -> datetime:
    """The study's 'created', else SOURCE_DATE_EPOCH, else the SAS epoch: never the clock."""
    if study.created is not None:
        return study.created
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC).replace(tzinfo=None)
    return xpt.SAS_EPOCH


RECONCILIATION = "reconciliation.csv"
CONVERT_OWNS = (
    "sdtm",
    "fhir",
    "validation",
    lineage_files.FOLDER,
    RECONCILIATION,
    error_report.NAME,
)


def convert(
    study_dir: Path,
    out_dir: Path,
    ct_file: Path | None = None,
    formats: tuple[str, ...] = ("xpt",),
) -> Converted:
    """Native records -> SDTM datasets in `out_dir/sdtm`, as XPT v5 and/or Dataset-JSON 1.1,
    with FHIR in `out_dir/fhir` when asked and the validation reports in `out_dir/validation`.
    Every problem with the input is gathered before anything is written; the whole output is
    written beside `out_dir` and swapped in at once, so a failed or killed run leaves the
    earlier output as it was."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UserError(
            f"unknown format {', '.join(unknown) or '(none)'}",
            "--format",
            f"use one or more of {', '.join(FORMATS)}, comma-separated",
        )
    with errors_listed_in(out_dir), collecting():
        folder = load_study(study_dir)
        ct = terminology_for(folder, ct_file)
        built = build(folder, ct)
        if "xpt" in formats:
            for dataset in built.datasets.values():
                xpt.check(dataset)
    zones = {s.siteid: s.timezone for s in folder.study.sites if s.timezone}
    resources = validated(built.datasets, out_dir / "fhir", zones) if "fhir" in formats else None
    with staged(out_dir, CONVERT_OWNS) as stage:
        written = _write_package(folder, ct, built, resources, formats, stage)
        if resources is not None:
            _keep_checkpoint(out_dir / "fhir", stage / "fhir")
    files = [out_dir / f.relative_to(stage) for f in written.files]
    return dataclasses.replace(written, files=files)


def spec_tests(study_dir: Path, ct_file: Path | None = None) -> list[spec_tests_run.Outcome]:
    """The cases of the spec tests beside the study's specs (`mappings/<spec>.test.yaml`),
    each run as `convert` would with the case's rows as the spec's sources."""
    folder = load_study(study_dir)
    return spec_tests_run.run(folder, terminology_for(folder, ct_file))


def _keep_checkpoint(earlier: Path, new: Path) -> None:
    """A push checkpoint of the earlier FHIR output goes with the new one: it is keyed by each
    bundle's hash, so only bundles that did not change count as sent."""
    checkpoint = earlier / CHECKPOINT
    if checkpoint.is_file() and not checkpoint.is_symlink():
        shutil.copy2(checkpoint, new / CHECKPOINT)


def _write_package(
    folder: StudyFolder,
    ct: Terminology,
    built: Built,
    resources: Assembled | None,
    formats: tuple[str, ...],
    out: Path,
) -> Converted:
    """sdtm/ (datasets, define.xml, define.html), fhir/ when asked, validation/ reports."""
    datasets = built.datasets
    target = out / "sdtm"
    created = creation_time(folder.study)
    context = datasetjson.FileContext(folder.study.studyid, folder.study.sponsor, created)
    files: list[Path] = []
    define = Builder(folder.study, ct, created, built.specs, built.provenance)
    for dataset, written in zip(
        datasets.values(), write_files(datasets, target, formats, context), strict=True
    ):
        define.add(dataset, written[0].name)  # the first format asked for, XPT if any
        files += written
    files += write_define(define, target)
    files += lineage_files.write(out, datasets, define.model, built.provenance)
    if resources is not None:  # built here, each resource names its native record (meta.source)
        files += _fhir_write(resources, out / "fhir", 500).files
    records = {name: len(d.frame) for name, d in datasets.items() if name in built.specs}
    table = reconciliation.render(built.counts, records, built.left_empty, built.notes)
    files.append(write_text(out / RECONCILIATION, table))
    placed = _as_written(datasets, target)
    define_file = read_define(target / "define.xml")
    findings = _reports(placed, ct, out / "validation", folder.study.studyid, define_file)
    files += [out / "validation" / f"validation.{k}" for k in ("json", "html", "xlsx")]
    reconciled = reconciliation.summary(built.counts, records, built.left_empty, built.notes)
    extended = sum(i.extended for c in define.model.codelists.values() for i in c.items)
    return Converted(
        datasets, files, ct.version, findings, reconciled, tuple(built.left_empty), extended
    )


@contextlib.contextmanager
def errors_listed_in(folder: Path) -> Iterator[None]:
    """When a run fails with several problems, list them all in `folder`/errors.csv. The
    output folder is checked first: an --out that cannot be one is refused before any work
    (and before an errors.csv could land in it)."""
    check_out_dir(folder)
    try:
        yield
    except UserErrors as exc:
        error_report.write(exc, folder)
        raise


FILE_KINDS = ("xpt", "json", "ndjson")


def write_files(
    datasets: dict[str, Dataset],
    folder: Path,
    formats: tuple[str, ...],
    context: datasetjson.FileContext,
) -> list[list[Path]]:
    """Each dataset's files in the formats asked for (XPT when only FHIR is), per dataset in
    order. Datasets are written two at a time: Arrow and numpy do the work outside the GIL."""

    def one(dataset: Dataset) -> list[Path]:
        written = []
        if "xpt" in formats:
            written.append(xpt.write(dataset, folder, context.created, check=False))
        for kind in ("json", "ndjson"):
            if kind in formats:
                table = dataset.table()
                written.append(datasetjson.write(table, folder, context, kind == "ndjson"))
        if not written:  # only FHIR asked for: the datasets are still described as XPT
            written.append(xpt.write(dataset, folder, context.created, check=False))
        return written

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, datasets.values()))


def _as_written(datasets: dict[str, Dataset], folder: Path) -> dict[str, Dataset]:
    """The datasets with the files they were written to (the XPT file where there is one), so
    the checks on file names, sizes and stored lengths see the files."""
    placed = {}
    for name, dataset in datasets.items():
        stem = dataset.filename_stem
        path = next((p for p in (folder / f"{stem}.{k}" for k in FILE_KINDS) if p.exists()), None)
        source = None
        if path is not None:
            source = SourceFile(path.name, path.stat().st_size, tuple(dataset.table().columns))
        placed[name] = dataclasses.replace(dataset, source=source)
    return placed


def _reports(
    datasets: dict[str, Dataset],
    ct: Terminology,
    folder: Path,
    title: str,
    define: Define | None = None,
) -> list[Finding]:
    """Conformance validation of what was written, its reports beside the datasets."""
    findings = conformance.run(datasets, ct, define=define)
    return _write_reports(findings, folder, title, list(datasets))


def _write_reports(
    findings: list[Finding],
    folder: Path,
    title: str,
    datasets: list[str],
    comparison: Comparison | None = None,
) -> list[Finding]:
    report_json.write(findings, folder, comparison)
    report_html.write(findings, folder, f"trialbridge validation: {title}", comparison)
    report_xlsx.write(findings, folder, datasets, comparison)
    return findings


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


FHIR_OWNS = ("bundles", "ndjson", bundles.MANIFEST, error_report.NAME)


def fhir_build(
    sdtm_dir: Path, out_dir: Path, bundle_size: int = 500, zones: dict[str, str] | None = None
) -> FhirBuilt:
    """SDTM datasets -> FHIR R4 bundles and NDJSON; domains without a table are listed. The
    folder is swapped in whole (a push checkpoint already there is kept: it is keyed by each
    bundle's hash). `zones`: SITEID (or `*`) -> IANA time zone, for date-times' offsets."""
    with errors_listed_in(out_dir), collecting():
        resources = validated(read_carried(sdtm_dir), out_dir, zones)
    with staged(out_dir, FHIR_OWNS) as stage:
        built = _fhir_write(resources, stage, bundle_size)
    return dataclasses.replace(built, files=[out_dir / f.relative_to(stage) for f in built.files])


@dataclass(frozen=True)
class FhirBuilt:
    resources: dict[str, int]
    skipped: list[str]
    files: list[Path]


def _fhir_write(result: Assembled, out_dir: Path, bundle_size: int) -> FhirBuilt:
    """Write resources built and validated (`assemble.validated`): invalid FHIR never is."""
    files = bundles.write(result.built, out_dir, bundle_size)
    counts = {b.dataset: len(b.ids) for b in result.built}
    counts |= {n: c for n, c in result.counts.items() if n not in counts}
    return FhirBuilt(resources=counts, skipped=result.skipped, files=files)


def fhir_to_sdtm(fhir_dir: Path, out_dir: Path) -> Parsed:
    """FHIR resources (NDJSON or bundles) -> SDTM XPT files in out_dir; every problem with the
    input is gathered before anything is written."""
    with errors_listed_in(out_dir), collecting():
        parsed = convert_fhir(bundles.read(fhir_dir))
    write_sdtm(parsed.datasets, out_dir)
    return parsed


def write_sdtm(datasets: dict[str, Dataset], out_dir: Path) -> None:
    """The datasets as XPT files in `out_dir`, swapped in together; other files there (a
    dataset the input had nothing for, say) are left as they were."""
    for dataset in datasets.values():
        xpt.check(dataset)
    with staged(out_dir, (error_report.NAME,)) as stage:
        for dataset in datasets.values():
            xpt.write(dataset, stage, check=False)


@dataclass(frozen=True)
class Derived:
    """The datasets as written, and what was filled in each."""

    datasets: dict[str, Dataset]
    filled: list[Filled]


def derive(sdtm_dir: Path, out_dir: Path, baseline_at: str = "RFXSTDTC") -> Derived:
    """A sponsor's SDTM folder with the derived variables its datasets lack (reference dates,
    study days, VISITNUM, EPOCH, baseline flags) filled in, written to out_dir as XPT."""
    with errors_listed_in(out_dir), collecting():
        datasets = read_folder(sdtm_dir)
        repeated_names(sdtm_dir, datasets)
        completed, filled = fill(datasets, str(sdtm_dir), baseline_at)
    write_sdtm(completed, out_dir)
    return Derived(completed, filled)


def fhir_connect(access: Access, workers: int = 4) -> Server:
    """A connection to the server, its credentials read and checked (a bad token or key is
    one line before anything is sent); close it when done."""
    return connect(access, connections=workers + 2)


def fhir_push(
    fhir_dir: Path,
    server: Server,
    workers: int = 4,
    fail_fast: bool = False,
    progress: Callable[[int], None] = lambda entries: None,
) -> Summary:
    """Send built bundles to a server, wave by wave, resuming from the checkpoint; progress
    is told how many entries each finished bundle held."""
    return push(fhir_dir, server, workers, fail_fast, progress)


def push_size(fhir_dir: Path) -> int:
    """Entries in the built bundles (for a progress bar)."""
    return sum(b["entries"] for b in manifest(fhir_dir))


def fhir_pull(
    access: Access, study_id: str, out_dir: Path, include_foreign: bool = False
) -> Parsed:
    """A study's resources from a server, as SDTM XPT files in out_dir; with include_foreign,
    the Observations other systems wrote for its subjects as records of the dataset their
    code names (the rest counted)."""
    server = connect(access)
    try:
        pulled = pull(server, study_id)
    finally:
        server.close()
    adopted = foreign.adopt(pulled.foreign if include_foreign else [], study_id)
    left_out = Counter(r["resourceType"] for r in pulled.foreign) if not include_foreign else None
    with errors_listed_in(out_dir), collecting():
        parsed = convert_fhir(pulled.resources + adopted.resources)
    write_sdtm(parsed.datasets, out_dir)
    return dataclasses.replace(
        parsed,
        duplicates=parsed.duplicates + pulled.copies,
        other_studies=pulled.other_studies,
        foreign=dict(sorted((left_out or adopted.left_out).items())),
        imported=len(adopted.resources),
        exported=pulled.exported,
    )


REPORTS = tuple(f"validation.{kind}" for kind in ("json", "html", "xlsx"))


@dataclass
class Validated:
    findings: list[Finding]
    comparison: Comparison | None  # against the baseline, when one was given


def validate(
    path: Path,
    out_dir: Path,
    ct_file: Path | None = None,
    baseline: Path | None = None,
    profile: str | None = None,
) -> Validated:
    """Conformance findings for a folder of SDTM datasets (XPT or Dataset-JSON, with its
    define.xml if there) from any source, or for a FHIR output folder, written into out_dir as
    validation.json, validation.html and validation.xlsx (swapped in together), compared with
    an earlier run's validation.json when `baseline` names one. `profile` (fda, pmda, core)
    runs the rules and severities that validator gives. Every file that cannot be read is named
    before anything is written."""
    owns = (*REPORTS, error_report.NAME)
    earlier = compared.read(baseline) if baseline is not None else None
    with errors_listed_in(out_dir), collecting():
        terminology = load_terminology(ct_file) if ct_file else shipped_terminology()
        fhir = fhir_folder.is_fhir_folder(path)
        if fhir:
            findings, names = fhir_folder.validate(path, terminology, profiles.rules_for(profile))
        else:
            datasets = read_folder(path)
            define_path = path / "define.xml"
            define = read_define(define_path) if define_path.is_file() else None
    if not fhir:  # the rules run once every file has been read
        rules = profiles.rules_for(profile)
        findings, names = conformance.run(datasets, terminology, rules, define), list(datasets)
    comparison = None if earlier is None else compared.compare(findings, earlier, str(baseline))
    with staged(out_dir, owns) as stage:
        _write_reports(findings, stage, path.name, names, comparison)
    return Validated(findings, comparison)


def skipped_files(path: Path) -> list[tuple[Path, str]]:
    """Files of an SDTM folder that are not read as datasets, and why (for the console)."""
    if not path.is_dir() or fhir_folder.is_fhir_folder(path):
        return []
    return dataset_files(path).skipped


def read_carried(sdtm_dir: Path) -> dict[str, Dataset]:
    """An SDTM folder whose data a command carries on (FHIR, a round trip): a variable name
    the file repeats is an error here, as only its first variable could travel."""
    datasets = read_folder(sdtm_dir)
    repeated_names(sdtm_dir, datasets)
    return datasets


def roundtrip(
    sdtm_dir: Path, zones: dict[str, str] | None = None
) -> tuple[list[DomainResult], list[str]]:
    """SDTM -> FHIR (as JSON text) -> SDTM, every record and variable compared."""
    with collecting():
        datasets = read_carried(sdtm_dir)
    result = validated(datasets, sdtm_dir, zones)
    back = parse(result.resources())
    results = []
    for name, dataset in datasets.items():
        if name not in result.skipped:
            compared = compare(dataset, back.get(name))
            compared.in_extensions = extension_only(dataset)
            results.append(compared)
    return results, result.skipped
