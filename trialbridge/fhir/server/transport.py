"""One FHIR server over HTTP(S): retries with exponential backoff and full jitter on dropped
connections, timeouts, 429 and 5xx, honouring Retry-After; a fresh token after a 401; TLS
verified unless told otherwise; errors named in one line, without credentials."""

from __future__ import annotations

import email.utils
import random
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from trialbridge.errors import UserError
from trialbridge.fhir.server.auth import Auth

RETRIED = (httpx.TransportError,)  # connect, read, write, protocol errors and timeouts


@dataclass(frozen=True)
class Retry:
    attempts: int = 8
    base: float = 0.5  # seconds; attempt n waits up to base * 2**n
    cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


class Server:
    def __init__(
        self,
        base_url: str,
        auth: Auth,
        verify: bool | ssl.SSLContext = True,
        retry: Retry = Retry(),
        timeout: float = 120.0,
        connections: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry
        self.retries = 0  # attempts repeated, for the summary
        self._count_lock = threading.Lock()
        self.client = httpx.Client(
            verify=verify,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections),
            headers={"Accept": "application/fhir+json"},
        )

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path}"

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> httpx.Response:
        """The server's answer, after retrying what is worth retrying."""
        sent = dict(headers)
        if body is not None:
            sent.setdefault("Content-Type", "application/fhir+json")
        renewed = False
        problem = ""
        for attempt in range(self.retry.attempts):
            try:
                response = self.client.request(
                    method, self.url(path), content=body, headers=sent | self.auth.headers()
                )
            except RETRIED as error:
                _refuse_tls(error, self.base_url)
                problem = f"{type(error).__name__}: {error}"
                self._wait(self.retry.backoff(attempt))
                continue
            if response.status_code == 401 and not renewed and self.auth.renew():
                renewed = True
                continue
            if response.status_code == 401:
                raise UserError(
                    "the server refused the credentials (HTTP 401)",
                    self.base_url,
                    "check the token or client registration",
                )
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                self._wait(retry_after(response) or self.retry.backoff(attempt))
                continue
            return response
        raise UserError(
            f"no answer after {self.retry.attempts} attempts (last: {problem})", self.base_url
        )

    def json(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
        response = self.request(method, path, body, **headers)
        if response.status_code >= 400:
            raise UserError(
                f"{method} {path}: HTTP {response.status_code}: {outcome_text(response)}",
                self.base_url,
            )
        return response.json()

    def _wait(self, seconds: float) -> None:
        with self._count_lock:
            self.retries += 1
        time.sleep(seconds)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds (a number of seconds, or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def outcome_text(response: httpx.Response) -> str:
    """The diagnostics of an OperationOutcome, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        issues = body.get("issue", [])
        texts = [
            i.get("diagnostics") or i.get("details", {}).get("text") or i.get("code", "")
            for i in issues
        ]
        return "; ".join(t for t in texts if t)[:500] or "OperationOutcome without text"
    return str(body)[:300]


def _refuse_tls(error: Exception, where: str) -> None:
    """A certificate the client does not trust is not worth retrying."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise UserError(
                f"TLS: the server's certificate is not trusted ({cause.verify_message})",
                where,
                "give the CA that signed it with --ca-bundle",
            ) from None
        cause = cause.__cause__ or cause.__context__
    if "CERTIFICATE_VERIFY_FAILED" in str(error):
        raise UserError(
            "TLS: the server's certificate is not trusted",
            where,
            "give the CA that signed it with --ca-bundle",
        ) from None
