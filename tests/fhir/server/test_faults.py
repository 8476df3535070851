"""Pushes that meet trouble end with exactly the right resources on the server: a proxy that
drops connections and answers 429/503 with Retry-After, a server killed mid-push and
restarted, a push interrupted and run again."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fhir.server.proxy import FaultProxy
from tests.fhir.server.sekmet import Sekmet, built, copy_of
from tests.helpers import STUDY, run_cli
from trialbridge import api
from trialbridge.roundtrip import compare
from trialbridge.sdtm.read import read_folder


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PLMSC SDTM, and its FHIR in small bundles (27 of them) so a push takes a while."""
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    built_fhir = run_cli(
        "fhir", "build", out / "sdtm", "--out", out / "fhir", "--bundle-size", "25"
    )
    assert built_fhir.exit_code == 0, built_fhir.output
    return out


def exact(server: Sekmet, fhir: Path) -> None:
    expected = built(fhir)
    assert {kind: server.count(kind) for kind in expected} == dict(expected)


def test_a_faulty_network_still_ends_with_exact_counts(study, server, tmp_path):
    fhir = copy_of(study, tmp_path)
    with FaultProxy(server.root) as proxy:
        through = f"{proxy.root}/fhir"
        result = run_cli("fhir", "push", fhir, "--server", through, "--workers", "3")
        assert result.exit_code == 0, result.output
        back = tmp_path / "back"
        pulled = run_cli(
            "fhir", "pull", "--server", through, "--study", "PLMSC-SPMS", "--out", back
        )
        assert pulled.exit_code == 0, pulled.output
    assert all(proxy.fates.get(f, 0) >= 3 for f in ("429", "503", "drop-before", "drop-after"))
    exact(server, fhir)
    original = read_folder(study / "sdtm")
    for name, dataset in read_folder(back).items():
        assert compare(original[name], dataset).lossless, name


def _push_process(fhir: Path, base: str) -> subprocess.Popen:
    program = Path(sys.executable).parent / "trialbridge"
    return subprocess.Popen(
        [str(program), "fhir", "push", str(fhir), "--server", base, "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_commits(fhir: Path, at_least: int, push: subprocess.Popen) -> None:
    checkpoint = fhir / ".push-checkpoint.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if checkpoint.exists():
            done = sum(len(v) for v in json.loads(checkpoint.read_text()).values())
            if done >= at_least:
                return
        if push.poll() is not None:
            raise AssertionError(f"the push ended early: {push.communicate()[0]}")
        time.sleep(0.05)
    raise AssertionError(f"the push committed fewer than {at_least} bundles in 120 s")


def test_the_server_killed_mid_push_and_restarted(study, server, tmp_path):
    fhir = copy_of(study, tmp_path)
    push = _push_process(fhir, server.base)
    _wait_for_commits(fhir, 4, push)
    server.stop(hard=True)  # SIGKILL: whatever was in flight is lost
    time.sleep(1.5)
    server.start()  # same port, same database file
    output, _ = push.communicate(timeout=300)
    assert push.returncode == 0, output
    retries = int(output.split(" retries;")[0].rsplit("; ", 1)[1])
    assert retries >= 1  # it met the dead server and waited it out
    exact(server, fhir)


def test_an_interrupted_push_resumes_where_it_stopped(study, server, tmp_path):
    fhir = copy_of(study, tmp_path)
    push = _push_process(fhir, server.base)
    _wait_for_commits(fhir, 6, push)
    os.kill(push.pid, signal.SIGKILL)  # the client dies mid-push
    push.wait()
    result = run_cli("fhir", "push", fhir, "--server", server.base)
    assert result.exit_code == 0, result.output
    done = int(result.output.split(" sent, ")[1].split(" already done")[0])
    assert 6 <= done < 27
    exact(server, fhir)


def test_a_server_without_bulk_export_is_read_by_paged_search(study, server, tmp_path):
    fhir = copy_of(study, tmp_path)
    assert run_cli("fhir", "push", fhir, "--server", server.base).exit_code == 0
    with FaultProxy(server.root, plan=("pass",), no_export=True) as proxy:
        back = tmp_path / "back"
        args = ("fhir", "pull", "--server", f"{proxy.root}/fhir", "--study", "PLMSC-SPMS")
        pulled = run_cli(*args, "--out", back)
        assert pulled.exit_code == 0, pulled.output
    assert set(proxy.fates) == {"404", "pass"} and proxy.fates["404"] == 1  # no export: search
    original = read_folder(study / "sdtm")
    pulled_sdtm = read_folder(back)
    assert sorted(pulled_sdtm) == sorted(original)
    for name, dataset in pulled_sdtm.items():
        assert compare(original[name], dataset).lossless, name
