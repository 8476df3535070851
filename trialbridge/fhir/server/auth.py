"""Credentials for a FHIR server: none, basic, bearer, OAuth2 client credentials and SMART
Backend Services (a signed JWT client assertion). Secrets come from an environment variable or
a file, never from the command line, and never appear in messages or logs."""

from __future__ import annotations

import base64
import os
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx
import jwt

from trialbridge.errors import UserError

REFRESH_MARGIN = 60  # seconds before expiry a token is renewed


class Auth(Protocol):
    def headers(self) -> dict[str, str]: ...

    def renew(self) -> bool:
        """After a 401: get a fresh token if this kind can; True when it did."""
        ...


def secret(env: str | None, file: Path | None, what: str) -> str:
    """A secret from an environment variable or a file (first line), named in errors only by
    where it was looked for."""
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise UserError(f"{what}: environment variable {env} is not set", "--token-env")
        return value
    if file:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as problem:
            raise UserError(f"{what}: cannot read {file}: {problem.strerror}", file) from None
        if not value:
            raise UserError(f"{what}: {file} is empty", file)
        return value
    raise UserError(f"{what} needs --token-env VAR or --token-file FILE", "command line")


class NoAuth:
    def headers(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False


@dataclass
class Basic:
    user: str
    password: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        pair = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}

    def renew(self) -> bool:
        return False


@dataclass
class Bearer:
    token: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self) -> bool:
        return False


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float


class TokenEndpoint:
    """A token got from an OAuth2 token endpoint, cached and renewed before it expires; one
    lock, so parallel workers share one token instead of each fetching their own."""

    def __init__(self, token_url: str, verify: bool | ssl.SSLContext, scope: str) -> None:
        self.token_url = token_url
        self.verify = verify
        self.scope = scope
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def form(self) -> tuple[dict[str, str], dict[str, str]]:  # (form fields, headers)
        raise NotImplementedError

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._token.expires - REFRESH_MARGIN < time.time():
                self._token = self._fetch()
            return {"Authorization": f"Bearer {self._token.value}"}

    def renew(self) -> bool:
        with self._lock:
            self._token = self._fetch()
        return True

    def _fetch(self) -> _Token:
        fields, headers = self.form()
        try:
            response = httpx.post(
                self.token_url, data=fields, headers=headers, verify=self.verify, timeout=30
            )
        except httpx.HTTPError as problem:
            raise UserError(f"token endpoint unreachable: {problem}", self.token_url) from None
        if response.status_code != 200:
            raise UserError(
                f"token endpoint refused the credentials (HTTP {response.status_code}: "
                f"{_error_text(response)})",
                self.token_url,
                "check the client id, key or secret, and the scope",
            )
        body = response.json()
        lifetime = float(body.get("expires_in", 300))
        return _Token(body["access_token"], time.time() + lifetime)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error_description") or body.get("error") or body)[:200]


class ClientCredentials(TokenEndpoint):
    """OAuth2 client credentials: client id and secret, HTTP basic to the token endpoint."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, **kw: object) -> None:
        super().__init__(token_url, **kw)  # type: ignore[arg-type]
        self.client_id = client_id
        self._secret = client_secret

    def form(self) -> tuple[dict[str, str], dict[str, str]]:
        pair = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()
        fields = {"grant_type": "client_credentials", "scope": self.scope}
        return fields, {"Authorization": f"Basic {pair}"}


class SmartBackend(TokenEndpoint):
    """SMART Backend Services: a JWT signed with the client's private key (RS384 for RSA,
    ES384 for EC keys), five minutes valid, a fresh jti each time."""

    def __init__(
        self, token_url: str, client_id: str, key_pem: bytes, kid: str | None, **kw: object
    ) -> None:
        super().__init__(token_url, **kw)  # type: ignore[arg-type]
        self.client_id = client_id
        self._key = key_pem
        self.kid = kid
        self.algorithm = "ES384" if b"EC PRIVATE KEY" in key_pem or _is_ec(key_pem) else "RS384"

    def form(self) -> tuple[dict[str, str], dict[str, str]]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.kid} if self.kid else None
        try:
            assertion = jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)
        except (ValueError, TypeError) as problem:
            raise UserError(f"cannot sign with the private key: {problem}", "--key-file") from None
        fields = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        return fields, {}


def _is_ec(key_pem: bytes) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return isinstance(load_pem_private_key(key_pem, password=None), ec.EllipticCurvePrivateKey)
    except ValueError:
        return False
