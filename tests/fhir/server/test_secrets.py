"""Secrets and keys are checked before any request: a token file's first line is the token
(its line end left out), and a token with a control character, a non-ASCII token, a binary or
empty token file, a garbage or unfit SMART key, an unreadable checkpoint are each one line
naming the file (or variable) and the fix; none of them shows the secret."""

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.fhir.server.conftest import TOKEN
from tests.fhir.server.hostile import Hostile
from tests.fhir.server.sekmet import refusal
from tests.helpers import run_cli
from trialbridge.fhir.server.connect import Access, connect

NOWHERE = "http://127.0.0.1:9/fhir"  # nothing listens: every case fails before any request
KEY_FIX = "give the client's RSA or EC P-384 private key, as PEM"
FILE_FIX = "put the bearer token alone on the file's first line"


def push(fhir: Path, *auth: str, server: str = NOWHERE):
    return run_cli("fhir", "push", fhir, "--server", server, *auth)


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\nsecond line\n", ""])
def test_the_first_line_of_a_token_file_is_the_token(fhir_copy, secured, tmp_path, line_end):
    token = tmp_path / "token"
    token.write_bytes(f"{TOKEN}{line_end}".encode())
    result = push(fhir_copy, "--auth", "bearer", "--token-file", token, server=secured.base)
    assert result.exit_code == 0, result.output
    assert "created 600" in result.output


TOKEN_FILES = [
    (
        "tab",
        f"{TOKEN[:6]}\t{TOKEN[6:]}\n".encode(),
        "bearer token holds a control character "
        "(U+0009) at character 7; a secret is printable characters on one line: correct the file",
    ),
    (
        "carriage-return",
        f"{TOKEN}\rmore\n".encode(),
        "bearer token holds a control character "
        f"(U+000D) at character {len(TOKEN) + 1}; a secret is printable characters on one line: "
        "correct the file",
    ),
    (
        "nul",
        b"\0" * 16,
        "bearer token holds a control character (U+0000) at character 1; a "
        "secret is printable characters on one line: correct the file",
    ),
    (
        "non-ascii",
        f"{TOKEN}é\n".encode(),
        "bearer token holds a non-ASCII character at "
        f"character {len(TOKEN) + 1}; a bearer token is printable ASCII: correct the file",
    ),
    (
        "binary",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        f"bearer token: the first line is not UTF-8 text; {FILE_FIX}",
    ),
    ("empty", b"", f"bearer token: the first line is empty; {FILE_FIX}"),
    (
        "blank-first-line",
        f"\n{TOKEN}\n".encode(),
        f"bearer token: the first line is empty; {FILE_FIX}",
    ),
    (
        "huge-line",
        b"x" * 70_000,
        f"bearer token: the first line is longer than 65,536 bytes; {FILE_FIX}",
    ),
]


@pytest.mark.parametrize("name,data,said", TOKEN_FILES, ids=[c[0] for c in TOKEN_FILES])
def test_a_bad_token_file_is_one_line(fhir_copy, tmp_path, name, data, said):
    token = tmp_path / "token"
    token.write_bytes(data)
    with Hostile() as server:
        result = push(fhir_copy, "--auth", "bearer", "--token-file", token, server=server.base)
    assert refusal(result) == f"error: {token}: {said}"
    assert server.seen == [] and TOKEN not in result.output


def test_a_token_with_a_line_break_in_the_environment_is_refused(fhir_copy, monkeypatch):
    monkeypatch.setenv("TB_TOKEN", f"{TOKEN}\nX-Injected: yes")
    result = push(fhir_copy, "--auth", "bearer", "--token-env", "TB_TOKEN")
    assert refusal(result) == (
        "error: --token-env: bearer token: environment variable TB_TOKEN holds a control "
        f"character (U+000A) at character {len(TOKEN) + 1}; a secret is printable characters on "
        "one line: correct the variable"
    )
    assert TOKEN not in result.output and "Injected" not in result.output


def test_a_non_ascii_password_goes_as_utf_8_in_basic_auth(tmp_path):
    """RFC 7617: user and password as UTF-8, then base64; only a bearer token must be ASCII."""
    password = tmp_path / "password"
    password.write_text("pässwort\n", encoding="utf-8")
    access = Access(NOWHERE, "basic", user="müller", token_file=password)
    server = connect(access)
    server.close()
    expected = base64.b64encode("müller:pässwort".encode()).decode()
    assert server.auth.headers() == {"Authorization": f"Basic {expected}"}
    assert expected == "bcO8bGxlcjpww6Rzc3dvcnQ="


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _encrypted(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )


KEYS = [
    ("garbage", lambda: b"not a key\n", f"not a PEM private key; {KEY_FIX}"),
    ("empty", lambda: b"", f"not a PEM private key; {KEY_FIX}"),
    (
        "ed25519",
        lambda: _pem(ed25519.Ed25519PrivateKey.generate()),
        f"the key is of type Ed25519: SMART Backend Services signs with RSA or EC keys; {KEY_FIX}",
    ),
    (
        "ec-p256",
        lambda: _pem(ec.generate_private_key(ec.SECP256R1())),
        f"an EC key on curve secp256r1: ES384 signs with P-384 (secp384r1) only; {KEY_FIX}",
    ),
    (
        "rsa-1024",
        lambda: _pem(rsa.generate_private_key(65537, 1024)),
        f"a 1024-bit RSA key: RS384 needs 2048 bits or more; {KEY_FIX}",
    ),
    (
        "public",
        lambda: _public(ec.generate_private_key(ec.SECP384R1())),
        f"a public key, not the private key; {KEY_FIX}",
    ),
    (
        "encrypted",
        lambda: _encrypted(ec.generate_private_key(ec.SECP384R1())),
        "the private "
        "key is encrypted; give it unencrypted (openssl pkey -in KEY -out PLAIN.pem), kept where "
        "only you read",
    ),
]


@pytest.mark.parametrize("name,make,said", KEYS, ids=[k[0] for k in KEYS])
def test_a_smart_key_that_cannot_sign_is_one_line(fhir_copy, tmp_path, name, make, said):
    key = tmp_path / "key.pem"
    key.write_bytes(make())
    with Hostile() as server:
        smart = ("--auth", "smart", "--client-id", "c", "--key-file", key)
        result = push(fhir_copy, *smart, "--token-url", f"{server.root}/token", server=server.base)
    assert refusal(result) == f"error: {key}: {said}"
    assert server.seen == []  # not even the token endpoint


@pytest.mark.parametrize(
    "text,said",
    [
        ("{", "not valid JSON: unexpected end of data at line 1, column 2"),
        ("[]", "not a push checkpoint (a JSON list)"),
        ('{"http://h/fhir": []}', "not a push checkpoint: http://h/fhir maps to a list"),
        (
            '{"http://u:pw@h/fhir": {"../../etc/passwd": "' + "0" * 64 + '"}}',
            "http://***@h/fhir: the bundle file '../../etc/passwd' leads out of its folder (..)",
        ),
        (
            '{"http://h/fhir": {"bundle-0001.json": "abc"}}',
            "http://h/fhir: bundle-0001.json has no SHA-256 (64 hex digits)",
        ),
    ],
)
def test_an_unreadable_checkpoint_is_one_line(fhir_copy, text, said):
    (fhir_copy / ".push-checkpoint.json").write_text(text)
    with Hostile() as server:
        result = push(fhir_copy, server=server.base)
    assert refusal(result) == (
        f"error: {fhir_copy}/.push-checkpoint.json: {said}; delete it: the next push sends every "
        "bundle again (PUT by id, so nothing doubles)"
    )
    assert server.seen == [] and result.stderr.startswith("error: ")  # before the progress bar
