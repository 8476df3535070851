"""A fresh sekmet-fhir server per test, stopped after it; the PLMSC study built once, and a
private copy of its FHIR folder per test (a push writes its checkpoint there)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fhir.server.sekmet import Sekmet, copy_of
from tests.helpers import STUDY
from trialbridge import api

TOKEN = "s3cret-token-7f1c9e"  # what must never reach another origin or show in output


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "server").mkdir()
    running = Sekmet(tmp_path / "server").start()
    yield running
    running.stop()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Sekmet]:
    """The real server, asking for the bearer token TOKEN."""
    (tmp_path / "server").mkdir()
    running = Sekmet(tmp_path / "server", {"types": ["bearer"], "tokens": [TOKEN]}).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def plmsc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """convert's output for the bundled study: sdtm/ and fhir/."""
    out = tmp_path_factory.mktemp("plmsc-built")
    api.convert(STUDY, out, formats=("xpt", "fhir"))
    return out


@pytest.fixture
def fhir_copy(plmsc: Path, tmp_path: Path) -> Path:
    return copy_of(plmsc, tmp_path)


@pytest.fixture
def bearer(monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """The options that send TOKEN (from the environment)."""
    monkeypatch.setenv("TB_TOKEN", TOKEN)
    return ("--auth", "bearer", "--token-env", "TB_TOKEN")
