"""Credentials for a FHIR server: none, basic, bearer, OAuth2 client credentials and SMART
Backend Services (a signed JWT client assertion). Secrets come from an environment variable or
a file (credentials.py), never from the command line, and never appear in messages or logs:
`scrub` takes them out of any text a server sends back."""

from __future__ import annotations

import base64
import math
import ssl
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import jwt
import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.server.answers import Answer, MiB, json_of, receive, said
from trialbridge.fhir.server.credentials import SigningKey
from trialbridge.fhir.server.origin import redact

REFRESH_MARGIN = 60  # seconds before expiry a token is renewed
LIFETIME = (2 * REFRESH_MARGIN, 24 * 3600.0)  # a token's lifetime as used, whatever it says
DEFAULT_LIFETIME = 300.0
TOKEN_ANSWER_LIMIT = 1 * MiB
TOKEN_URL_FIX = "check --token-url: it must be the OAuth2 token endpoint"


class Auth(Protocol):
    def headers(self) -> dict[str, str]: ...

    def renew(self) -> bool:
        """After a 401: get a fresh token if this kind can; True when it did."""
        ...

    def scrub(self, text: str) -> str:
        """`text` with this credential's secrets replaced by ***."""
        ...


def _scrubbed(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


class NoAuth:
    def headers(self) -> dict[str, str]:
        return {}

    def renew(self) -> bool:
        return False

    def scrub(self, text: str) -> str:
        return text


@dataclass
class Basic:
    user: str
    password: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._pair()}"}

    def _pair(self) -> str:
        return base64.b64encode(f"{self.user}:{self.password}".encode()).decode()

    def renew(self) -> bool:
        return False

    def scrub(self, text: str) -> str:
        return _scrubbed(text, [self._pair(), self.password])


@dataclass
class Bearer:
    token: str = field(repr=False)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self) -> bool:
        return False

    def scrub(self, text: str) -> str:
        return _scrubbed(text, [self.token])


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

    def secrets(self) -> list[str]:
        return [self._token.value] if self._token else []

    def scrub(self, text: str) -> str:
        return _scrubbed(text, self.secrets())

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
        where = redact(self.token_url)
        # the endpoint's words may echo what it was sent: the secrets, the client assertion
        sent = [*self.secrets(), fields.get("client_assertion", "")]

        def scrub(text: str) -> str:
            return _scrubbed(text, sent)

        def clean(text: str) -> str:
            return said(text, scrub, 200)

        try:
            with httpx.Client(verify=self.verify, timeout=30, follow_redirects=False) as client:
                form = urlencode(fields).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                answer = receive(client, "POST", self.token_url, TOKEN_ANSWER_LIMIT, form, headers)
        except httpx.HTTPError as problem:
            raise UserError(f"token endpoint unreachable: {clean(str(problem))}", where) from None
        if 300 <= answer.status_code < 400:
            raise UserError(
                f"the token endpoint redirected (HTTP {answer.status_code}) to "
                f"{clean(answer.headers.get('Location', 'nowhere'))}; not followed",
                where,
                "give --token-url the address it redirects to, if it is the right one",
            )
        if answer.status_code != 200:
            raise UserError(
                f"token endpoint refused the credentials (HTTP {answer.status_code}: "
                f"{clean(_error_text(answer))})",
                where,
                "check the client id, key or secret, and the scope",
            )
        body = json_of(answer, "the token endpoint's answer", where, TOKEN_URL_FIX, scrub)
        return _token(body, where)


def _token(body: Any, where: str) -> _Token:
    """The access token of a token endpoint's answer, fit to go into a header."""
    value = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value or not value.isascii():
        raise UserError(
            "the token endpoint's answer has no access_token of printable ASCII",
            where,
            TOKEN_URL_FIX,
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise UserError(
            "the token endpoint's access_token holds a control character",
            where,
            "ask the token endpoint's administrator",
        )
    lifetime = _lifetime(body.get("expires_in"))
    return _Token(value, time.time() + lifetime)


def _lifetime(expires_in: object) -> float:
    """Seconds a token is used for: what the endpoint says, kept within LIFETIME (a token renewed
    every request, or kept a year, helps nobody; a 401 renews it anyway)."""
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = DEFAULT_LIFETIME
    if math.isnan(seconds):
        seconds = DEFAULT_LIFETIME
    return min(max(seconds, LIFETIME[0]), LIFETIME[1])


def _error_text(answer: Answer) -> str:
    """The endpoint's error, uncut (`said` cuts it once the secrets are out)."""
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return answer.text.strip() or "no body"
    if isinstance(body, dict):
        body = body.get("error_description") or body.get("error") or body
    return str(body)


class ClientCredentials(TokenEndpoint):
    """OAuth2 client credentials: client id and secret, HTTP basic to the token endpoint."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, **kw: object) -> None:
        super().__init__(token_url, **kw)  # type: ignore[arg-type]
        self.client_id = client_id
        self._secret = client_secret

    def _pair(self) -> str:
        return base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode()

    def secrets(self) -> list[str]:
        return [*super().secrets(), self._pair(), self._secret]

    def form(self) -> tuple[dict[str, str], dict[str, str]]:
        fields = {"grant_type": "client_credentials", "scope": self.scope}
        return fields, {"Authorization": f"Basic {self._pair()}"}


class SmartBackend(TokenEndpoint):
    """SMART Backend Services: a JWT signed with the client's private key (RS384 for RSA,
    ES384 for EC P-384 keys, checked when read), five minutes valid, a fresh jti each time."""

    def __init__(
        self, token_url: str, client_id: str, key: SigningKey, kid: str | None, **kw: object
    ) -> None:
        super().__init__(token_url, **kw)  # type: ignore[arg-type]
        self.client_id = client_id
        self._key = key
        self.kid = kid
        self.algorithm = key.algorithm

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
        assertion = jwt.encode(claims, self._key.key, algorithm=self.algorithm, headers=headers)  # type: ignore[arg-type]
        fields = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        return fields, {}
