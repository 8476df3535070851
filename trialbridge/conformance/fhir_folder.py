"""Validation of a FHIR output folder: every resource through the FHIR R4 checks (structure,
required elements and bindings, invariants, references inside the folder), then the SDTM the
resources carry through the SDTM rules. FHIR findings are reported like rule findings, under
the FHIR constraint's key (FHIR:obs-6), with the resource and its SDTM lineage as the value."""

from __future__ import annotations

from pathlib import Path

from trialbridge.conformance import engine
from trialbridge.conformance.engine import Finding
from trialbridge.conformance.rule import Rule, shipped_rules
from trialbridge.fhir import bundles, checks
from trialbridge.fhir.parse import parse
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.read import holds_dataset_json_ndjson

# checks on files and define.xml, which a FHIR folder does not have
NOT_FOR_FHIR = frozenset({"define_present", "file_name", "file_size", "stored_length"})


def is_fhir_folder(path: Path) -> bool:
    """What `fhir build` writes (ndjson/, bundles/), or a folder of FHIR NDJSON files (not
    the Dataset-JSON NDJSON that `convert --format ndjson` writes)."""
    if (path / "ndjson").is_dir() or (path / "bundles").is_dir():
        return True
    ndjson = path.is_dir() and any(path.glob("*.ndjson"))
    return ndjson and not holds_dataset_json_ndjson(path)


def validate(
    path: Path, terminology: Terminology, rules: tuple[Rule, ...] | None = None
) -> tuple[list[Finding], list[str]]:
    """The findings, and the names they may concern: resource types, then SDTM datasets.
    The resources are read into SDTM first: input that cannot be read (a reference to
    nowhere, a value of the wrong type) is an error at its place, not a finding. `rules`:
    the SDTM rules to run (all shipped ones by default), less those on files and define.xml."""
    resources = bundles.read(path)
    datasets = parse(resources)
    found = [_finding(f) for f in checks.validate(resources)]
    given = rules if rules is not None else shipped_rules()
    rules = tuple(r for r in given if r.check.operation not in NOT_FOR_FHIR)
    kinds = sorted({r["resourceType"] for r in resources})
    return found + engine.run(datasets, terminology, rules), kinds + list(datasets)


def _finding(found: checks.Finding) -> Finding:
    kind = found.resource.split("/", 1)[0]
    return Finding(
        rule=f"FHIR:{found.rule}",
        severity="Error",
        dataset=kind,
        record=None,
        usubjid=None,
        seq=None,
        variable="",
        value=f"{found.resource} ({found.record})",
        message=found.message,
    )
