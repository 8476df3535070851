"""Write FHIR resources as transaction Bundles (PUT, dependency order, split by size) and as
NDJSON per resource type; read them back."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from trialbridge.bulk import collector_paused
from trialbridge.fhir import render
from trialbridge.fhir.build import Built
from trialbridge.fhir.reading import MANIFEST, Resources, read_folder
from trialbridge.fhir.render import SLICE
from trialbridge.sdtm.write import atomic_file, write_text

# Waves: a resource is sent after every resource it refers to. Patients, Medications, plan and
# dataset definitions refer to nothing; the enrolled Group to Patients; the ResearchStudy to
# that Group; the visits' Encounters to Patients; everything else to Patients, the study, a
# Medication or an Encounter. A bundle never mixes waves, so `fhir push` may send the
# bundles of one wave in parallel.
WAVES = {"Patient": 0, "Medication": 0, "PlanDefinition": 0, "Basic": 0, "Group": 1}
WAVES |= {"ResearchStudy": 2, "Encounter": 3}
LAST_WAVE = 4


def wave(resource_type: str) -> int:
    return WAVES.get(resource_type, LAST_WAVE)


def _rank(built: Built) -> int:
    return built.wave if built.wave is not None else wave(built.resource)


def write(built: list[Built], folder: Path, bundle_size: int = 500) -> list[Path]:
    """bundles/bundle-0001.json ... and ndjson/<Type>.ndjson; same input, same bytes. Those two
    subfolders are replaced whole, so no bundle of an earlier, larger run survives. Resources
    are rendered a slice at a time, so memory does not grow with the study."""
    for sub in ("bundles", "ndjson"):
        shutil.rmtree(folder / sub, ignore_errors=True)
    ordered = sorted(built, key=_rank)  # stable: within a type, SDTM order
    written = _bundles(ordered, folder / "bundles", bundle_size)
    for kind in sorted({b.resource for b in ordered}):
        path = folder / "ndjson" / f"{kind}.ndjson"
        with atomic_file(path) as handle:
            for one in (b for b in ordered if b.resource == kind):
                for texts in _slices(one, SLICE):
                    handle.write(("\n".join(texts.to_pylist()) + "\n").encode())
        written.append(path)
    return written


def _slices(built: Built, size: int) -> Iterator[pa.Array]:
    for start in range(0, len(built.ids), size):
        yield built.texts(np.arange(start, min(start + size, len(built.ids))))


def _bundles(ordered: list[Built], folder: Path, size: int) -> list[Path]:
    """The bundles, and manifest.json: each bundle's file, wave, entry count and SHA-256, so a
    push knows what it may send in parallel and what a checkpoint already covers."""
    written: list[Path] = []
    pending: list[str] = []
    manifest: list[dict[str, object]] = []

    def flush() -> None:
        text = f'{{"resourceType":"Bundle","type":"transaction","entry":[{",".join(pending)}]}}\n'
        path = folder / f"bundle-{len(written) + 1:04d}.json"
        data = text.encode()
        written.append(write_text(path, data))
        digest = hashlib.sha256(data).hexdigest()
        manifest.append(
            {"file": path.name, "wave": current, "entries": len(pending), "sha256": digest}
        )
        pending.clear()

    current = 0
    for one in ordered:
        if pending and _rank(one) != current:
            flush()  # a bundle never mixes waves
        current = _rank(one)
        for start in range(0, len(one.ids), SLICE):
            rows = np.arange(start, min(start + SLICE, len(one.ids)))
            for entry in _entries(one, rows).to_pylist():
                pending.append(entry)
                if len(pending) == size:
                    flush()
    if pending:
        flush()
    listing = orjson.dumps({"bundles": manifest}, option=orjson.OPT_INDENT_2) + b"\n"
    written.append(write_text(folder / MANIFEST, listing))
    return written


def _entries(built: Built, rows: np.ndarray) -> pa.Array:
    """Bundle entries: PUT Type/id, so the server creates or updates by our id. fullUrl is
    absolute, as R4 wants it: the id (a UUID) as a urn:uuid."""
    ids = built.ids.take(pa.array(rows))
    url = render.wrap_each(f'"{built.resource}/', ids, '"')
    return render.join_columns(
        [
            render.wrap_each('{"fullUrl":', render.wrap_each('"urn:uuid:', ids, '"'), ""),
            render.wrap_each('"resource":', built.texts(rows), ""),
            render.wrap_each('"request":{"method":"PUT","url":', url, "}}"),
        ]
    )


def read(folder: Path) -> Resources:
    """The resources of a FHIR folder (see `reading.read_folder`), each with its place."""
    with collector_paused():
        return read_folder(folder)
