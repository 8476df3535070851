"""Every path the manifest names stays in bundles/ and every bundle is the one the manifest
records: a manifest entry that leads out (.., an absolute path, a link), or a bundle changed
since it was built, is refused with one line before anything is sent; the server sees nothing."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.fhir.server.hostile import Hostile
from tests.fhir.server.sekmet import refusal
from tests.helpers import run_cli

FIX = "rebuild the bundles with trialbridge fhir build"


def listing(fhir: Path) -> dict:
    return json.loads((fhir / "bundles" / "manifest.json").read_text())


def list_file(fhir: Path, name: str, data: bytes) -> None:
    """Name `name` as the manifest's first bundle, with the SHA-256 of `data`."""
    manifest = listing(fhir)
    manifest["bundles"][0] |= {"file": name, "sha256": hashlib.sha256(data).hexdigest()}
    (fhir / "bundles" / "manifest.json").write_text(json.dumps(manifest))


def push(fhir: Path, server: Hostile, *more: str):
    return run_cli("fhir", "push", fhir, "--server", server.base, *more)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the FHIR folder that must never be sent (its hash known to the attacker)."""
    path = tmp_path / "secret.json"
    path.write_text('{"resourceType": "Bundle", "type": "transaction", "entry": []}')
    return path


def test_a_manifest_entry_with_dot_dot_is_not_read(fhir_copy, secret_file, bearer):
    list_file(fhir_copy, "../../secret.json", secret_file.read_bytes())
    with Hostile() as server:
        line = refusal(push(fhir_copy, server, *bearer))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 1: file '../../secret.json' leads out "
        f"of its folder (..); {FIX}"
    )
    assert server.seen == []


def test_an_absolute_manifest_entry_is_not_read(fhir_copy, secret_file, bearer):
    list_file(fhir_copy, str(secret_file), secret_file.read_bytes())
    with Hostile() as server:
        line = refusal(push(fhir_copy, server, *bearer))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 1: file '{secret_file}' is an "
        f"absolute path; {FIX}"
    )
    assert server.seen == []


def test_a_link_that_leads_out_of_the_folder_is_not_read(fhir_copy, secret_file, bearer):
    os.symlink(secret_file, fhir_copy / "bundles" / "innocent.json")
    list_file(fhir_copy, "innocent.json", secret_file.read_bytes())
    with Hostile() as server:
        line = refusal(push(fhir_copy, server, *bearer))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 1: file 'innocent.json' is a link "
        f"that leads out of its folder; {FIX}"
    )
    assert server.seen == []


def test_a_link_that_stays_in_the_folder_is_followed(fhir_copy, server):
    bundles = fhir_copy / "bundles"
    (bundles / "bundle-0001.json").rename(bundles / "patients.json")
    os.symlink("patients.json", bundles / "bundle-0001.json")
    result = run_cli("fhir", "push", fhir_copy, "--server", server.base)
    assert result.exit_code == 0, result.output
    assert server.count("Patient") == 5


def test_a_bundle_changed_after_it_was_built_is_not_sent(fhir_copy, bearer):
    path = fhir_copy / "bundles" / "bundle-0005.json"
    path.write_bytes(path.read_bytes().replace(b'"status":"final"', b'"status":"amended"', 1))
    with Hostile() as server:
        line = refusal(push(fhir_copy, server, *bearer))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 5: bundle-0005.json is not the bundle "
        "the manifest records (its SHA-256 differs: changed after fhir build?); " + FIX
    )
    assert server.seen == []


def test_a_fifo_in_the_manifest_does_not_hang_the_push(fhir_copy, bearer):
    os.mkfifo(fhir_copy / "bundles" / "pipe.json")
    list_file(fhir_copy, "pipe.json", b"")
    with Hostile() as server:
        line = refusal(push(fhir_copy, server, *bearer))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 1: file 'pipe.json' is not a regular "
        f"file; {FIX}"
    )
    assert server.seen == []


def test_a_bundle_changed_while_the_push_runs_is_not_sent(fhir_copy, server, monkeypatch):
    """The bytes sent are the bytes checked: a bundle rewritten after the up-front check (by a
    fhir build running beside the push, say) stops the push when its turn comes."""
    from trialbridge.fhir.server import push as push_module

    checked = push_module.manifest

    def then_changed(folder: Path):
        listed = checked(folder)
        path = folder / "bundles" / "bundle-0005.json"
        path.write_bytes(path.read_bytes().replace(b'"final"', b'"amended"', 1))
        return listed

    monkeypatch.setattr(push_module, "manifest", then_changed)
    line = refusal(run_cli("fhir", "push", fhir_copy, "--server", server.base))
    assert line == (
        f"error: {fhir_copy}/bundles/manifest.json, entry 5: bundle-0005.json is not the bundle "
        "the manifest records (its SHA-256 differs: changed after fhir build?); " + FIX
    )
    assert server.count("Patient") == 5  # the earlier waves went
    assert server.count("AdverseEvent") == 0  # bundle-0005 holds every AdverseEvent
    done = json.loads((fhir_copy / ".push-checkpoint.json").read_text())[server.base]
    assert "bundle-0005.json" not in done
