"""A server's answer read whole, within a bound (a hostile or broken server cannot make the client
hold gigabytes), and what it says: its JSON, the text of its OperationOutcome, its Retry-After."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.server.origin import redact
from trialbridge.sdtm.printable import printable

MiB = 1024 * 1024
JSON_LIMIT = 256 * MiB  # a search page, a transaction-response, an $export manifest
_SECONDS = re.compile(r"[0-9]{1,12}")
_READ = 64 * 1024  # characters of a server's words looked at for a message


def said(text: str, scrub: Callable[[str], str] = lambda text: text, limit: int = 300) -> str:
    """What a server said, for one line: the credentials it may echo taken out before any
    cut (so no part of one shows), whitespace joined, control characters escaped, cut."""
    return printable(" ".join(scrub(redact(text[:_READ])).split()), limit)


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str  # as requested (for resolving relative links); shown only through redact()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def receive(
    client: httpx.Client,
    method: str,
    url: str,
    limit: int,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Send one request and read its answer, refused with one line past `limit` bytes (the
    body as decoded, so a compressed bomb is caught too)."""
    try:
        return _receive(client, method, url, limit, content, headers)
    except (UnicodeError, httpx.InvalidURL):
        # httpx reads a redirect's Location even when it follows none: a host no URL can
        # name (an IDNA label that does not decode) fails there
        raise UserError(
            f"the answer to {method} names a Location that is no valid URL",
            redact(url),
            SERVER_FIX,
        ) from None


def _receive(
    client: httpx.Client,
    method: str,
    url: str,
    limit: int,
    content: bytes | None,
    headers: dict[str, str] | None,
) -> Answer:
    with client.stream(method, url, content=content, headers=headers) as response:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_big(url, limit)
        chunks = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise _too_big(url, limit)
                chunks.append(chunk)
        except httpx.DecodingError as problem:
            raise UserError(
                f"the answer to {method} {redact(url)} does not decode "
                f"(Content-Encoding {response.headers.get('Content-Encoding', '')}: {problem})",
                redact(url),
                "ask the server's administrator to check its compression",
            ) from None
        return Answer(response.status_code, response.headers, b"".join(chunks), url)


def _too_big(url: str, limit: int) -> UserError:
    return UserError(
        f"the server's answer is larger than {limit // MiB:,} MiB; not read",
        redact(url),
        "ask the server's administrator why it answers so much (or page the request)",
    )


# the fix when an answer is not what a FHIR server gives: the URL may not be one
SERVER_FIX = "check that --server is the FHIR base URL, or ask the server's administrator"


def json_of(
    answer: Answer,
    what: str,
    where: str,
    fix: str = SERVER_FIX,
    scrub: Callable[[str], str] = lambda text: text,
) -> Any:
    """The answer's JSON, or one line naming `what` was expected and what came instead
    (`scrub` takes the credentials out of the body's start)."""
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as problem:
        kind = said(answer.headers.get("Content-Type", "no Content-Type"), scrub, 80)
        start = said(answer.content[:_READ].decode("utf-8", "replace"), scrub, 80)
        raise UserError(
            f"{what}: HTTP {answer.status_code} with a body that is not JSON ({kind}: '{start}'; "
            f"{problem.msg})",
            where,
            fix,
        ) from None


def outcome_text(answer: Answer | httpx.Response) -> str:
    """The diagnostics of an OperationOutcome, else the body's start, uncut: `said` cuts it
    after the credentials are taken out."""
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return answer.content[:_READ].decode("utf-8", "replace").strip() or "no body"
    return issues_text(body) or str(body)[:_READ]


def issues_text(body: Any) -> str | None:
    """The issues of an OperationOutcome on one line; None for anything else."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    issues = body.get("issue")
    texts = (
        [_issue_text(i) for i in issues if isinstance(i, dict)] if isinstance(issues, list) else []
    )
    return "; ".join(t for t in texts if t)[:_READ].strip() or "OperationOutcome without text"


def _issue_text(issue: dict[str, Any]) -> str:
    details = issue.get("details")
    text = details.get("text") if isinstance(details, dict) else None
    found = issue.get("diagnostics") or text or issue.get("code") or ""
    return str(found)


def retry_after(answer: Answer | httpx.Response) -> float | None:
    """Retry-After as seconds from now (a number of seconds, or an HTTP date); None when absent
    or unreadable; infinity for a number too long to be meant."""
    value = answer.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value) if _SECONDS.fullmatch(value) else math.inf
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())
