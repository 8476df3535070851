"""One FHIR server over HTTP(S): retries with exponential backoff and full jitter on dropped
connections, timeouts, 429 and 5xx, honouring Retry-After (within MAX_WAIT); a fresh token after
a 401; TLS verified unless told otherwise; errors named in one line, without credentials.

Credentials go only to the server's origin (scheme, host, port): httpx follows no redirect by
itself; a redirect within the origin is followed here, one to another origin is refused, and so
is any URL the server hands back (a status URL, a next link) on another origin."""

from __future__ import annotations

import random
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from trialbridge.errors import UserError
from trialbridge.fhir.server import answers
from trialbridge.fhir.server.answers import Answer, json_of, outcome_text, receive, retry_after
from trialbridge.fhir.server.auth import Auth
from trialbridge.fhir.server.origin import (
    Origin,
    origin,
    parse,
    redact,
    shown_url,
    without_userinfo,
)
from trialbridge.sdtm.printable import printable

RETRIED = (httpx.TransportError,)  # connect, read, write, protocol errors and timeouts
NOT_RETRIED = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)  # our request is at fault
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
MAX_WAIT = 300.0  # seconds: a longer Retry-After stops the run instead of sleeping
# the fix when a FHIR server's answer breaks its own rules (paging, links, sizes)
SERVER_FIX = "the server is at fault: ask its administrator"


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
        parsed = parse(base_url, "--server", "the server's address", "give its https:// URL")
        if parsed.userinfo:
            raise ValueError("a user and password belong in Basic auth, not in the base URL")
        self.base_url = base_url.rstrip("/")
        self.origin: Origin = origin(parsed)
        self.auth = auth
        self.retry = retry
        self.retries = 0  # attempts repeated, for the summary
        self._count_lock = threading.Lock()
        self._timeout = timeout
        self.client = httpx.Client(
            verify=verify,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections),
            headers={"Accept": "application/fhir+json"},
            follow_redirects=False,  # never: _exchange follows redirects within the origin only
        )
        self._elsewhere: httpx.Client | None = None  # no credential, no cookie of the server

    def close(self) -> None:
        self.client.close()
        if self._elsewhere is not None:
            self._elsewhere.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path}"

    def on_origin(self, link: str, named: str, against: str | None = None) -> str:
        """`link` (absolute, or relative to `against`) as an absolute URL on the server's origin;
        refused with one line naming it as `named` when it is elsewhere."""
        url = self.resolve(link, named, against)  # a URL parse() accepted
        if origin(httpx.URL(url)) != self.origin:
            raise self.foreign(named, url)
        return url

    def resolve(self, link: str, named: str, against: str | None = None) -> str:
        """`link` as an absolute http(s) URL without user name or password."""
        base = httpx.URL(against or f"{self.base_url}/")
        try:
            joined = base.join(link)
        except (httpx.InvalidURL, TypeError, UnicodeError):
            raise UserError(
                f"{named} is not a valid URL: {shown_url(str(link))}", self.base_url, SERVER_FIX
            ) from None
        return str(without_userinfo(parse(str(joined), self.base_url, named, SERVER_FIX)))

    def foreign(self, named: str, url: str, fix: str | None = None) -> UserError:
        return UserError(
            f"{named} is on another origin: {printable(redact(url), 200)}; not followed, so "
            "that credentials "
            f"stay with {self.origin}",
            self.base_url,
            fix or "give --server the address the server names itself by, or correct its base URL",
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        credentials: bool = True,
        limit: int | None = None,
        **headers: str,
    ) -> Answer:
        """The server's answer (at most `limit` bytes, else JSON_LIMIT), after retrying what is
        worth retrying. Without `credentials` (a Bulk Data file that requires no token), the
        request carries none and may go to another origin."""
        url = self.url(path)
        limit = limit or answers.JSON_LIMIT
        if credentials and origin(httpx.URL(url)) != self.origin:
            raise self.foreign(f"{method} to", url)
        sent = dict(headers)
        if body is not None:
            sent.setdefault("Content-Type", "application/fhir+json")
        renewed = False
        problem = ""
        for attempt in range(self.retry.attempts):
            try:
                answer = self._exchange(method, url, body, sent, credentials, limit)
            except NOT_RETRIED as error:
                raise RuntimeError(
                    f"the request could not be formed ({type(error).__name__})"
                ) from None
            except RETRIED as error:
                _refuse_tls(error, self.base_url)
                problem = self.auth.scrub(redact(f"{type(error).__name__}: {error}"))
                self._wait(self.retry.backoff(attempt))
                continue
            if credentials and answer.status_code == 401:
                if not renewed and self.auth.renew():
                    renewed = True
                    continue
                raise UserError(
                    "the server refused the credentials (HTTP 401)",
                    self.base_url,
                    "check the token or client registration",
                )
            if answer.status_code == 429 or answer.status_code >= 500:
                problem = f"HTTP {answer.status_code}"
                self._wait(self._pause(answer, attempt))
                continue
            return answer
        raise UserError(
            f"no answer after {self.retry.attempts} attempts (last: {problem})", self.base_url
        )

    def _pause(self, answer: Answer, attempt: int) -> float:
        asked = retry_after(answer)
        if asked is not None and asked > MAX_WAIT:
            shown = f"{asked:,.0f} s" if asked < 1e12 else "for ever"
            raise UserError(
                f"the server asks to wait {shown} before trying again (HTTP "
                f"{answer.status_code}, Retry-After), longer than trialbridge waits "
                f"({MAX_WAIT:.0f} s)",
                self.base_url,
                "run the command again later",
            )
        return asked or self.retry.backoff(attempt)

    def _exchange(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        credentials: bool,
        limit: int,
    ) -> Answer:
        """One request and the redirects it meets: followed within the origin (any method on 307
        and 308, GET on the others); with credentials, never to another origin."""
        first = url
        for _ in range(MAX_REDIRECTS + 1):
            here = origin(httpx.URL(url)) == self.origin
            sent = headers | self.auth.headers() if credentials else headers
            client = self.client if here else self._stranger()
            answer = receive(client, method, url, limit, body, sent)
            location = answer.headers.get("Location")
            if answer.status_code not in REDIRECTS or not location:
                return answer
            named = f"the redirect (HTTP {answer.status_code}) of {method} {redact(url)}"
            target = self.resolve(location, named, url)
            if credentials and origin(httpx.URL(target)) != self.origin:
                raise self.foreign(
                    named, target, "if that address is the server's, give it as --server"
                )
            if method != "GET" and answer.status_code not in (307, 308):
                raise UserError(
                    f"{named} to {redact(target)} would turn it into a GET; not followed",
                    self.base_url,
                    "give --server the address the server redirects to",
                )
            url = target
        raise UserError(
            f"more than {MAX_REDIRECTS} redirects from {method} {redact(first)}",
            self.base_url,
            "give --server the address the server finally answers on",
        )

    def _stranger(self) -> httpx.Client:
        """The client for another origin: requests that carry no credential (Bulk Data files
        that require no token), with system CAs and a cookie jar of their own."""
        with self._count_lock:
            if self._elsewhere is None:
                self._elsewhere = httpx.Client(timeout=self._timeout, follow_redirects=False)
            return self._elsewhere

    def json(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
        answer = self.request(method, path, body, **headers)
        shown = f"{method} {redact(path)}"
        if answer.status_code >= 400:
            raise UserError(
                f"{shown}: HTTP {answer.status_code}: {self.outcome(answer)}", self.base_url
            )
        return json_of(answer, shown, self.base_url, scrub=self.auth.scrub)

    def outcome(self, answer: Answer) -> str:
        """What the server said, without any credential it may have echoed, for one line."""
        return answers.said(outcome_text(answer), self.auth.scrub)

    def said(self, text: str) -> str:
        """Other words of the server for one line, without any credential they may echo."""
        return answers.said(text, self.auth.scrub)

    def _wait(self, seconds: float) -> None:
        with self._count_lock:
            self.retries += 1
        time.sleep(seconds)


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
