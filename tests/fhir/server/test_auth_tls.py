"""Authentication and TLS against the real server: bearer and SMART Backend Services (RS384
and ES384) work, one token serves every worker, a wrong token is one clear line, secrets never
show, and a certificate from an unknown CA is refused unless its CA is given."""

import shutil
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.fhir.server.sekmet import Sekmet
from tests.helpers import STUDY, run_cli
from trialbridge import api

TOKEN = "s3cret-token-7f1c9e"  # what must never appear in output


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt", "fhir"))
    return out / "fhir"


def fresh(fhir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "fhir"
    shutil.copytree(fhir, copy)
    return copy


def server(tmp_path: Path, **settings) -> Sekmet:
    folder = tmp_path / "server"
    folder.mkdir()
    return Sekmet(folder, **settings).start()


def test_bearer_token_from_the_environment(fhir, tmp_path, monkeypatch):
    running = server(tmp_path, server_auth={"types": ["bearer"], "tokens": [TOKEN]})
    try:
        monkeypatch.setenv("TB_TOKEN", TOKEN)
        copy = fresh(fhir, tmp_path)
        args = ("fhir", "push", copy, "--server", running.base, "--auth", "bearer")
        result = run_cli(*args, "--token-env", "TB_TOKEN")
        assert result.exit_code == 0, result.output
        assert "created 600" in result.output
        assert running.count("Patient", {"Authorization": f"Bearer {TOKEN}"}) == 5
        checkpoint = (copy / ".push-checkpoint.json").read_text()
        monkeypatch.setenv("TB_TOKEN", "wrong-token")
        (copy / ".push-checkpoint.json").unlink()
        refused = run_cli(*args, "--token-env", "TB_TOKEN")
        assert refused.exit_code == 2
        assert refused.output.splitlines()[-1] == (
            f"error: {running.base}: the server refused the credentials (HTTP 401); "
            "check the token or client registration"
        )
        for text in (result.output, refused.output, checkpoint):
            assert TOKEN not in text and "wrong-token" not in text
    finally:
        running.stop()


def test_a_token_on_the_command_line_is_not_an_option(fhir, tmp_path):
    result = run_cli("fhir", "push", fhir, "--server", "http://127.0.0.1:9", "--token", TOKEN)
    assert result.exit_code == 2 and "No such option '--token'" in result.output


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_smart_backend_services(fhir, tmp_path, algorithm):
    if algorithm == "RS384":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
    private = tmp_path / "client-key.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = tmp_path / "client-public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    client = {"client_id": "trialbridge", "public_key_path": str(public), "scopes": "system/*.*"}
    running = server(tmp_path, server_auth={"types": ["smart"], "smart_clients": [client]})
    try:
        smart = ("--auth", "smart", "--client-id", "trialbridge", "--key-file", private)
        smart += ("--token-url", f"{running.root}/auth/token")
        copy = fresh(fhir, tmp_path)
        result = run_cli("fhir", "push", copy, "--server", running.base, "--workers", "4", *smart)
        assert result.exit_code == 0, result.output
        assert "created 600, updated 0, failed 0" in result.output
        log = (tmp_path / "server" / "server.log").read_text()
        assert log.count("POST /auth/token") == 1  # one token, shared by the four workers
        back = tmp_path / "back"
        pulled = run_cli(
            "fhir", "pull", "--server", running.base, "--study", "PLMSC-SPMS", "--out", back, *smart
        )
        assert pulled.exit_code == 0, pulled.output
        assert (back / "dm.xpt").is_file()
    finally:
        running.stop()


def test_an_unknown_certificate_authority_is_refused(fhir, tmp_path):
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    running = server(tmp_path, tls=(cert, key, ca_file))
    try:
        copy = fresh(fhir, tmp_path)
        refused = run_cli("fhir", "push", copy, "--server", running.base)
        assert refused.exit_code == 2
        assert refused.output.splitlines()[-1].startswith(
            f"error: {running.base}: TLS: the server's certificate is not trusted"
        )
        assert refused.output.splitlines()[-1].endswith(
            "give the CA that signed it with --ca-bundle"
        )
        trusted = run_cli("fhir", "push", copy, "--server", running.base, "--ca-bundle", ca_file)
        assert trusted.exit_code == 0, trusted.output
    finally:
        running.stop()


def test_basic_and_client_credentials(fhir, tmp_path, monkeypatch):
    client = {"client_id": "etl", "client_secret": "client-secret-42", "scopes": "system/*.*"}
    settings = {
        "types": ["basic", "smart"],
        "users": {"loader": "pw-1234"},
        "smart_clients": [client],
    }
    running = server(tmp_path, server_auth=settings)
    try:
        monkeypatch.setenv("TB_PASSWORD", "pw-1234")
        copy = fresh(fhir, tmp_path)
        basic = ("--auth", "basic", "--user", "loader", "--token-env", "TB_PASSWORD")
        result = run_cli("fhir", "push", copy, "--server", running.base, *basic)
        assert result.exit_code == 0, result.output
        secret_file = tmp_path / "secret.txt"
        secret_file.write_text("client-secret-42\n")
        credentials = ("--auth", "client-credentials", "--client-id", "etl")
        credentials += ("--token-file", secret_file, "--token-url", f"{running.root}/auth/token")
        (copy / ".push-checkpoint.json").unlink()
        again = run_cli("fhir", "push", copy, "--server", running.base, *credentials)
        assert again.exit_code == 0, again.output
        assert "created 0, updated 600" in again.output
        secret_file.write_text("not-the-secret")
        (copy / ".push-checkpoint.json").unlink()
        refused = run_cli("fhir", "push", copy, "--server", running.base, *credentials)
        assert refused.exit_code == 2
        assert refused.output.splitlines()[-1] == (
            f"error: {running.root}/auth/token: token endpoint refused the credentials "
            "(HTTP 401: Invalid client credentials); check the client id, key or secret, "
            "and the scope"
        )
        assert "not-the-secret" not in refused.output
    finally:
        running.stop()


def test_missing_credentials_are_named(fhir, tmp_path, monkeypatch):
    monkeypatch.delenv("TB_NOTHING", raising=False)
    result = run_cli(
        "fhir",
        "push",
        fhir,
        "--server",
        "http://127.0.0.1:9/fhir",
        "--auth",
        "bearer",
        "--token-env",
        "TB_NOTHING",
    )
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "error: --token-env: bearer token: environment variable TB_NOTHING is not set; export it "
        "in this shell, or give the secret with --token-file"
    )
    smart = run_cli("fhir", "push", fhir, "--server", "http://127.0.0.1:9/fhir", "--auth", "smart")
    assert smart.output.splitlines()[-1] == "error: command line: --auth smart needs --token-url"
