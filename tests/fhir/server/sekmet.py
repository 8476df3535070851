"""A real FHIR server for the integration tests: sekmet-fhir (FastAPI + SQLite), started on a
free loopback port with a file database, stopped (or killed) by the test."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import yaml

from trialbridge.fhir.build import STUDY_TAG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sekmet:
    def __init__(
        self,
        folder: Path,
        server_auth: dict[str, Any] | None = None,
        tls: tuple[Path, Path, Path] | None = None,  # cert, key, CA
    ) -> None:
        self.folder = folder
        self.port = free_port()
        scheme = "https" if tls else "http"
        self.root = f"{scheme}://127.0.0.1:{self.port}"
        self.base = f"{self.root}/fhir"
        self.ca = ssl.create_default_context(cafile=str(tls[2])) if tls else True
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "base_url": self.base,
            "data_dir": str(folder),
            "db_path": str(folder / "sekmet.db"),
            "own_private_key_path": str(folder / "own-key.pem"),
            "simulator": {"enabled": False},
            "log_inbound": False,
            "server_auth": server_auth or {"types": ["none"]},
        }
        if tls:
            settings |= {"tls_certfile": str(tls[0]), "tls_keyfile": str(tls[1])}
        self.settings = folder / "settings.yaml"
        self.settings.write_text(yaml.safe_dump(settings))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sekmet:
        program = Path(sys.executable).parent / "sekmet"
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(program), "serve", "-c", str(self.settings)],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SEKMET_CONFIG": str(self.settings)},
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/metadata", verify=self.ca, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"sekmet exited: {(self.folder / 'server.log').read_text()}")
            time.sleep(0.2)
        raise RuntimeError("sekmet did not answer /metadata in 60 s")

    def stop(self, hard: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None

    def count(self, kind: str, headers: dict[str, str] | None = None) -> int:
        """Resources of a type tagged with the PLMSC study, from the server's search total
        (the server keeps a few resources of its own)."""
        response = httpx.get(
            f"{self.base}/{kind}",
            params={"_summary": "count", "_tag": f"{STUDY_TAG}|PLMSC-SPMS"},
            headers=headers or {},
            verify=self.ca,
            timeout=30,
        )
        response.raise_for_status()
        return int(response.json()["total"])


def built(fhir: Path) -> Counter:
    """Resources per type in a built FHIR folder (its NDJSON)."""
    return Counter(
        json.loads(line)["resourceType"]
        for path in (fhir / "ndjson").glob("*.ndjson")
        for line in path.read_text().splitlines()
    )


def copy_of(study: Path, tmp_path: Path) -> Path:
    """A private copy of the study's built FHIR folder (a push writes its checkpoint there)."""
    shutil.copytree(study / "fhir", tmp_path / "fhir")
    return tmp_path / "fhir"


def rewrite_bundle(fhir: Path, name: str, bundle: dict[str, Any]) -> None:
    """Replace a built bundle, and its SHA-256 in the manifest, as a rebuild would."""
    rewrite_bytes(fhir, name, json.dumps(bundle).encode(), len(bundle["entry"]))


def rewrite_bytes(fhir: Path, name: str, data: bytes, entries: int | None = None) -> None:
    """Replace a bundle's bytes as they are and its SHA-256 (and entry count) in the manifest."""
    (fhir / "bundles" / name).write_bytes(data)
    listing = fhir / "bundles" / "manifest.json"
    manifest = json.loads(listing.read_text())
    for listed in manifest["bundles"]:
        if listed["file"] == name:
            listed["sha256"] = hashlib.sha256(data).hexdigest()
            if entries is not None:
                listed["entries"] = entries
    listing.write_text(json.dumps(manifest, indent=2))


def refusal(result: Any) -> str:
    """The one line a refused push or pull gives (exit 2, no traceback; a push's progress label
    may come before it)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.stderr.splitlines()
    assert lines[:-1] in ([], ["pushing"]), result.stderr
    return lines[-1]
