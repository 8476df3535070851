"""A Server from command-line choices: which credentials, where the secret is, which CA."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from trialbridge.errors import UserError
from trialbridge.fhir.server import auth
from trialbridge.fhir.server.transport import Server

T = TypeVar("T")
KINDS = ("none", "basic", "bearer", "client-credentials", "smart")


@dataclass(frozen=True)
class Access:
    """How to reach a server; secrets are named by where they are, never held here."""

    url: str
    kind: str = "none"
    user: str | None = None
    token_env: str | None = None
    token_file: Path | None = None
    client_id: str | None = None
    key_file: Path | None = None
    kid: str | None = None
    token_url: str | None = None
    scope: str = "system/*.*"
    ca_bundle: Path | None = None


def connect(access: Access, connections: int = 8) -> Server:
    if not access.url.startswith(("http://", "https://")):
        raise UserError(f"'{access.url}' is not an http(s) URL", "--server")
    if access.ca_bundle is not None and not access.ca_bundle.is_file():
        raise UserError("CA bundle not found", access.ca_bundle, "give a PEM file")
    verify: bool | ssl.SSLContext = True
    if access.ca_bundle is not None:
        try:
            verify = ssl.create_default_context(cafile=str(access.ca_bundle))
        except ssl.SSLError as problem:
            raise UserError(f"not a PEM CA bundle: {problem}", access.ca_bundle) from None
    return Server(access.url, _auth(access, verify), verify=verify, connections=connections)


def _auth(access: Access, verify: bool | ssl.SSLContext) -> auth.Auth:
    kind = access.kind
    if kind == "none":
        return auth.NoAuth()
    if kind == "bearer":
        return auth.Bearer(auth.secret(access.token_env, access.token_file, "bearer token"))
    if kind == "basic":
        user = _needed(access.user, "--user", kind)
        return auth.Basic(user, auth.secret(access.token_env, access.token_file, "password"))
    token_url = _needed(access.token_url, "--token-url", kind)
    client_id = _needed(access.client_id, "--client-id", kind)
    if kind == "client-credentials":
        client_secret = auth.secret(access.token_env, access.token_file, "client secret")
        return auth.ClientCredentials(
            token_url, client_id, client_secret, verify=verify, scope=access.scope
        )
    key_file = _needed(access.key_file, "--key-file", kind)
    try:
        key = Path(key_file).read_bytes()
    except OSError as problem:
        raise UserError(f"cannot read the private key: {problem.strerror}", key_file) from None
    return auth.SmartBackend(
        token_url, client_id, key, access.kid, verify=verify, scope=access.scope
    )


def _needed(value: T | None, option: str, kind: str) -> T:
    if value is None:
        raise UserError(f"--auth {kind} needs {option}", "command line")
    return value
