"""`fhir pull` killed at random moments over an earlier SDTM folder leaves that folder or the
pulled one, complete (the other writing commands: tests/test_kill.py)."""

from __future__ import annotations

from pathlib import Path

from tests.fhir.server.sekmet import Sekmet, copy_of
from tests.helpers import run_cli
from tests.kill import check_kills


def test_fhir_pull_killed_anywhere(plmsc: Path, server: Sekmet, tmp_path: Path):
    fhir = copy_of(plmsc, tmp_path)
    assert run_cli("fhir", "push", fhir, "--server", server.base).exit_code == 0
    earlier = tmp_path / "earlier"  # an earlier pull: the same study, one dataset less
    assert run_cli("fhir", "to-sdtm", fhir, "--out", earlier).exit_code == 0
    (earlier / "ae.xpt").unlink()
    (earlier / "note.txt").write_text("a user's file beside the datasets")
    out = tmp_path / "pulled"
    command = ["fhir", "pull", "--server", server.base, "--study", "PLMSC-SPMS", "--out", out]
    found = check_kills(out, earlier, command, kills=6, seed=5)
    assert found["earlier"] and found["new"], found
    assert (out / "note.txt").read_text() == "a user's file beside the datasets"
