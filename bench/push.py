"""Push throughput against a real FHIR server (sekmet-fhir on loopback), beside the server's
own ingest rate for the same bundles sent raw (one after another, plain HTTP, no retries),
measured in the same run. Writes build/bench/push.json."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from bench.fhir import scaled
from tests.fhir.server.sekmet import Sekmet
from trialbridge.fhir import bundles
from trialbridge.fhir.assemble import validated
from trialbridge.fhir.server.connect import Access, connect
from trialbridge.fhir.server.push import push


def raw(folder: Path, base: str) -> float:
    """Seconds to POST every bundle once, in order, without trialbridge's client."""
    files = sorted((folder / "bundles").glob("bundle-*.json"))
    start = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        for path in files:
            response = client.post(
                base, content=path.read_bytes(), headers={"Content-Type": "application/fhir+json"}
            )
            response.raise_for_status()
    return time.perf_counter() - start


def run(rows: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        result = validated(scaled(rows), work)
        bundles.write(result.built, work / "fhir", 500)
        resources = sum(len(b.ids) for b in result.built)
        (work / "raw").mkdir()
        (work / "push").mkdir()
        first = Sekmet(work / "raw").start()
        try:
            raw_seconds = raw(work / "fhir", first.base)
        finally:
            first.stop()
        second = Sekmet(work / "push").start()
        try:
            server = connect(Access(url=second.base), connections=workers + 2)
            summary = push(work / "fhir", server, workers)
            server.close()
        finally:
            second.stop()
    return {
        "resources": resources,
        "raw_seconds": round(raw_seconds, 1),
        "raw_resources_per_s": round(resources / raw_seconds),
        "push_workers": workers,
        "push_seconds": round(summary.seconds, 1),
        "push_resources_per_s": round(summary.sent / summary.seconds),
        "push_failed": summary.failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("build/bench/push.json"))
    args = parser.parse_args()
    figures = run(args.rows, args.workers)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key.ljust(width)}  {value:,}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
