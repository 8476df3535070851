"""A Server from command-line choices: which credentials, where the secret is, which CA. Every
secret, key and address is checked here, before any request."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from trialbridge.errors import UserError
from trialbridge.fhir.server import auth, credentials
from trialbridge.fhir.server.origin import parse, redact, without_userinfo
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
    url = parse(access.url, "--server", "the address", "give the FHIR base URL (https://host/path)")
    if access.ca_bundle is not None and not access.ca_bundle.is_file():
        raise UserError("CA bundle not found", access.ca_bundle, "give a PEM file")
    verify: bool | ssl.SSLContext = True
    if access.ca_bundle is not None:
        try:
            verify = ssl.create_default_context(cafile=str(access.ca_bundle))
        except ssl.SSLError as problem:
            raise UserError(f"not a PEM CA bundle: {problem}", access.ca_bundle) from None
    if not url.userinfo:
        return Server(str(url), _auth(access, verify), verify=verify, connections=connections)
    if access.kind != "none":  # https://user:password@host is Basic auth, as curl and httpx take it
        raise UserError(
            f"{redact(access.url)} holds a user name and password, and --auth {access.kind} "
            "gives credentials too",
            "--server",
            "leave the user name and password out of --server",
        )
    basic = auth.Basic(credentials.user_name(url.username), url.password)
    return Server(str(without_userinfo(url)), basic, verify=verify, connections=connections)


def _auth(access: Access, verify: bool | ssl.SSLContext) -> auth.Auth:
    kind = access.kind
    if kind == "none":
        return auth.NoAuth()
    if kind == "bearer":
        token = credentials.secret(access.token_env, access.token_file, "bearer token", True)
        return auth.Bearer(token)
    if kind == "basic":
        user = credentials.user_name(_needed(access.user, "--user", kind))
        return auth.Basic(user, credentials.secret(access.token_env, access.token_file, "password"))
    token_url = _token_url(_needed(access.token_url, "--token-url", kind))
    client_id = _needed(access.client_id, "--client-id", kind)
    if kind == "client-credentials":
        secret = credentials.secret(access.token_env, access.token_file, "client secret")
        return auth.ClientCredentials(
            token_url, client_id, secret, verify=verify, scope=access.scope
        )
    key = credentials.signing_key(_needed(access.key_file, "--key-file", kind))
    return auth.SmartBackend(
        token_url, client_id, key, access.kid, verify=verify, scope=access.scope
    )


def _token_url(text: str) -> str:
    url = parse(text, "--token-url", "the token endpoint", "give its https:// URL")
    if url.userinfo:
        raise UserError(
            f"{redact(text)} holds a user name and password",
            "--token-url",
            "leave them out: the client secret goes in --token-env or --token-file",
        )
    return text


def _needed(value: T | None, option: str, kind: str) -> T:
    if value is None:
        raise UserError(f"--auth {kind} needs {option}", "command line")
    return value
