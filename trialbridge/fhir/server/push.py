"""Send built transaction bundles to a FHIR server: wave by wave (what others refer to first),
the bundles of a wave in parallel, each retried by the transport, each committed one recorded
in the checkpoint. A transaction the server refuses is split: each of its resources is PUT on
its own, so one bad resource is reported (with the server's words and the SDTM record it came
from) and the others still arrive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.bundles import MANIFEST
from trialbridge.fhir.server.checkpoint import Checkpoint
from trialbridge.fhir.server.transport import Server, outcome_text
from trialbridge.fhir.table import SDTM_ORDER


@dataclass
class Summary:
    bundles: int = 0
    skipped: int = 0  # already committed by an earlier run
    sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    retries: int = 0  # requests repeated after a dropped connection, a timeout, 429 or 5xx
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, created: int, updated: int, failures: list[str]) -> None:
        with self._lock:
            self.bundles += 1
            self.sent += created + updated + len(failures)
            self.created += created
            self.updated += updated
            self.failed += len(failures)
            self.failures += failures


def manifest(folder: Path) -> list[dict[str, Any]]:
    path = folder / "bundles" / MANIFEST
    if not path.exists():
        raise UserError(
            "no bundles/manifest.json", folder, "build the bundles with trialbridge fhir build"
        )
    return orjson.loads(path.read_bytes())["bundles"]


def push(
    folder: Path,
    server: Server,
    workers: int = 4,
    fail_fast: bool = False,
    progress: Callable[[int], None] = lambda entries: None,
) -> Summary:
    listed = manifest(folder)
    checkpoint = Checkpoint(folder, server.base_url)
    summary = Summary()
    start = time.perf_counter()
    for wave in sorted({b["wave"] for b in listed}):
        todo = []
        for bundle in (b for b in listed if b["wave"] == wave):
            if checkpoint.done(bundle["file"], bundle["sha256"]):
                summary.skipped += 1
                progress(bundle["entries"])
            else:
                todo.append(bundle)

        def send(bundle: dict[str, Any]) -> None:
            if fail_fast and summary.failed:
                return
            created, updated, failures = _send(folder / "bundles" / bundle["file"], server)
            summary.add(created, updated, failures)
            checkpoint.commit(bundle["file"], bundle["sha256"])
            progress(bundle["entries"])

        with ThreadPoolExecutor(max(1, workers)) as pool:
            list(pool.map(send, todo))  # the wave ends before the next one starts
        if fail_fast and summary.failed:
            break
    summary.seconds = time.perf_counter() - start
    summary.retries = server.retries
    return summary


def _send(path: Path, server: Server) -> tuple[int, int, list[str]]:
    """(created, updated, failures) for one bundle."""
    body = path.read_bytes()
    response = server.request("POST", "", body, Prefer="return=minimal")
    if response.status_code < 300:
        return _statuses(response.json())
    if response.status_code not in (400, 404, 409, 412, 413, 422):
        raise UserError(
            f"{path.name}: HTTP {response.status_code}: {outcome_text(response)}", server.base_url
        )
    return _one_by_one(orjson.loads(body), server)


def _statuses(reply: dict[str, Any]) -> tuple[int, int, list[str]]:
    created = updated = 0
    for entry in reply.get("entry", []):
        status = str(entry.get("response", {}).get("status", ""))
        if status.startswith("201"):
            created += 1
        elif status.startswith("200"):
            updated += 1
    return created, updated, []


def _one_by_one(bundle: dict[str, Any], server: Server) -> tuple[int, int, list[str]]:
    """The refused transaction's resources, each PUT on its own."""
    created = updated = 0
    failures = []
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        url = entry["request"]["url"]
        response = server.request("PUT", url, orjson.dumps(resource))
        if response.status_code == 201:
            created += 1
        elif response.status_code < 300:
            updated += 1
        else:
            failures.append(f"{url}: {outcome_text(response)} ({lineage(resource)})")
    return created, updated, failures


def lineage(resource: dict[str, Any]) -> str:
    """The SDTM record a resource came from: dataset, record number, native source row."""
    meta = resource.get("meta", {})
    dataset = next(
        (
            t.get("code")
            for t in meta.get("tag", [])
            if t.get("system", "").endswith("sdtm-dataset")
        ),
        None,
    )
    order = next(
        (
            e.get("valueInteger")
            for e in resource.get("extension", [])
            if e.get("url") == SDTM_ORDER
        ),
        None,
    )
    parts = [f"SDTM {dataset}" + (f" record {order}" if order else "")] if dataset else []
    if meta.get("source"):
        parts.append(str(meta["source"]))
    return ", ".join(parts) or "no SDTM lineage"
