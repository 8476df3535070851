"""A fresh sekmet-fhir server per test, stopped after it."""

from pathlib import Path

import pytest

from tests.fhir.server.sekmet import Sekmet


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "server").mkdir()
    running = Sekmet(tmp_path / "server").start()
    yield running
    running.stop()
