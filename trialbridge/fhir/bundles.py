"""Write FHIR resources as transaction Bundles (PUT, dependency order, split by size) and as
NDJSON per resource type; read them back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from trialbridge.errors import UserError
from trialbridge.sdtm.write import write_text

# resources that others reference go first
ORDER = ["Patient", "ResearchStudy", "Group", "ResearchSubject", "Encounter", "Medication"]


def _rank(resource: dict[str, Any]) -> int:
    kind = resource["resourceType"]
    return ORDER.index(kind) if kind in ORDER else len(ORDER)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write(resources: list[dict[str, Any]], folder: Path, bundle_size: int = 500) -> list[Path]:
    """bundles/bundle-0001.json ... and ndjson/<Type>.ndjson; same input, same bytes. Those two
    subfolders are replaced whole, so no bundle of an earlier, larger run survives."""
    for sub in ("bundles", "ndjson"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    ordered = sorted(resources, key=_rank)  # stable: within a type, SDTM order
    written = []
    for number, start in enumerate(range(0, len(ordered), bundle_size), 1):
        chunk = ordered[start : start + bundle_size]
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": f"{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in chunk
            ],
        }
        path = folder / "bundles" / f"bundle-{number:04d}.json"
        written.append(write_text(path, (_dumps(bundle) + "\n").encode()))
    by_type: dict[str, list[str]] = {}
    for resource in ordered:
        by_type.setdefault(resource["resourceType"], []).append(_dumps(resource))
    for kind, lines in sorted(by_type.items()):
        path = folder / "ndjson" / f"{kind}.ndjson"
        written.append(write_text(path, ("\n".join(lines) + "\n").encode()))
    return written


def read(folder: Path) -> list[dict[str, Any]]:
    """Resources from ndjson/*.ndjson, else from bundles/*.json, else from *.ndjson/*.json."""
    if not folder.is_dir():
        raise UserError("FHIR folder not found", folder, "give the folder fhir build wrote")
    ndjson = sorted((folder / "ndjson").glob("*.ndjson")) or sorted(folder.glob("*.ndjson"))
    resources: list[dict[str, Any]] = []
    for path in ndjson:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                resources.append(_load(line, f"{path}, line {number}"))
    if resources:
        return resources
    for path in sorted((folder / "bundles").glob("*.json")) or sorted(folder.glob("*.json")):
        document = _load(path.read_text(encoding="utf-8"), str(path))
        resources += [e["resource"] for e in document.get("entry", []) if "resource" in e]
    if not resources:
        raise UserError("no FHIR resources found", folder, "expected ndjson/ or bundles/")
    return resources


def _load(text: str, where: str) -> dict[str, Any]:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON: {exc.msg} at column {exc.colno}", where) from None
