"""Send built transaction bundles to a FHIR server: wave by wave (what others refer to first),
the bundles of a wave in parallel, each retried by the transport. A bundle counts as done (in
the checkpoint) only when the server accepted every one of its entries, so the next run sends
again whatever was refused. A transaction the server refuses is split: each of its resources is
PUT on its own, so one bad resource is reported (with the server's words and the SDTM record it
came from) and the others still arrive.

Each bundle is checked as it is sent: its bytes are the ones the manifest records, and its
entries' URLs are looked at (quickly, in the layout fhir build writes; a bundle in another
layout is parsed whole) for one on another origin. The transport is what guarantees that no
request, whatever a bundle says, carries credentials off the server's origin."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.server.answers import Answer, issues_text
from trialbridge.fhir.server.checkpoint import Checkpoint
from trialbridge.fhir.server.manifest import FIX, bundle_bytes
from trialbridge.fhir.server.manifest import manifest as manifest
from trialbridge.fhir.server.origin import origin, redact, shown_url
from trialbridge.fhir.server.transport import Server
from trialbridge.fhir.table import SDTM_ORDER
from trialbridge.sdtm.printable import printable

SPLIT = (400, 404, 409, 412, 413, 422)  # a refused transaction: send its resources one by one
METHODS = ("PUT", "POST")


@dataclass
class Outcome:
    """What the server did with one bundle."""

    created: int = 0
    updated: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def refuse(self, count: int, why: str) -> None:
        self.failed += count
        self.failures.append(why)


@dataclass
class Summary:
    bundles: int = 0
    skipped: int = 0  # already committed by an earlier run
    sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    retries: int = 0  # requests repeated after a dropped connection, a timeout, 429 or 5xx
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.bundles += 1
            self.sent += outcome.created + outcome.updated + outcome.failed
            self.created += outcome.created
            self.updated += outcome.updated
            self.failed += outcome.failed
            self.failures += outcome.failures


def push(
    folder: Path,
    server: Server,
    workers: int = 4,
    fail_fast: bool = False,
    progress: Callable[[int], None] = lambda entries: None,
) -> Summary:
    listed = list(enumerate(manifest(folder), 1))
    checkpoint = Checkpoint(folder, server.base_url)
    summary = Summary()
    start = time.perf_counter()
    for wave in sorted({b["wave"] for _, b in listed}):
        todo = []
        for number, bundle in (pair for pair in listed if pair[1]["wave"] == wave):
            if checkpoint.done(bundle["file"], bundle["sha256"]):
                summary.skipped += 1
                progress(bundle["entries"])
            else:
                todo.append((number, bundle))

        def send(pair: tuple[int, dict[str, Any]]) -> None:
            if fail_fast and summary.failed:
                return
            number, bundle = pair
            outcome = _send(folder, bundle, number, server)
            summary.add(outcome)
            if not outcome.failed:
                checkpoint.commit(bundle["file"], bundle["sha256"])
            progress(bundle["entries"])

        with ThreadPoolExecutor(max(1, workers)) as pool:
            list(pool.map(send, todo))  # the wave ends before the next one starts
        if fail_fast and summary.failed:
            break
    summary.seconds = time.perf_counter() - start
    summary.retries = server.retries
    return summary


def _send(folder: Path, bundle: dict[str, Any], number: int, server: Server) -> Outcome:
    sent = _Sent(bundle_bytes(folder, bundle, number), folder / "bundles" / bundle["file"])
    sent.check(bundle["entries"], server)
    answer = server.request("POST", "", sent.data, Prefer="return=minimal")
    if answer.status_code < 300:
        return _answered(answer, sent, bundle["file"], server)
    if answer.status_code not in SPLIT:
        raise UserError(
            f"{bundle['file']}: HTTP {answer.status_code}: {server.outcome(answer)}",
            server.base_url,
        )
    return _one_by_one(sent.entries, server)


# an entry's request as fhir build writes it: a JSON string here cannot hold an unescaped quote
REQUEST = re.compile(rb'"request":\{"method":"(?:PUT|POST)","url":"([^"\\]*)"\}')


@dataclass
class _Sent:
    """A bundle as it is sent: its bytes (checked against the manifest), its entries parsed
    only when needed (a refusal to report, a transaction to split): parsing every bundle would
    cost a push more CPU than sending it."""

    data: bytes
    path: Path
    expected: int = 0
    server: Server | None = None

    def check(self, expected: int, server: Server) -> None:
        """Every entry a request to a URL on the server's origin: found quickly in the layout
        fhir build writes (relative URLs, one request per entry); else by parsing it all."""
        self.expected, self.server = expected, server
        urls = REQUEST.findall(self.data)
        if len(urls) != expected or any(u.startswith((b"http://", b"https://")) for u in urls):
            _ = self.entries

    @cached_property
    def entries(self) -> list[dict[str, Any]]:
        assert self.server is not None
        return _entries(self.data, self.path, self.expected, self.server)


def _entries(data: bytes, path: Path, expected: int, server: Server) -> list[dict[str, Any]]:
    """The bundle's entries, each a resource to PUT (or POST) at a URL on the server's origin."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as problem:
        raise UserError(f"not valid JSON: {problem.msg}", path, FIX) from None
    is_transaction = isinstance(document, dict) and document.get("type") == "transaction"
    entries = document.get("entry") if is_transaction else None
    if not isinstance(entries, list):
        raise UserError("not a transaction Bundle with a list of entries", path, FIX)
    if len(entries) != expected:
        raise UserError(f"holds {len(entries)} entries, the manifest says {expected}", path, FIX)
    for number, entry in enumerate(entries, 1):
        problem = _entry_problem(entry, server)
        if problem:
            raise UserError(problem[0], f"{path}, entry {number}", problem[1])
    return entries


def _entry_problem(entry: Any, server: Server) -> tuple[str, str] | None:
    """(what is wrong, the fix) with a bundle entry, or None. A relative URL stays on the
    server's origin (it is put after the base URL); an absolute one is checked."""
    request = entry.get("request") if isinstance(entry, dict) else None
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(request, dict) or not isinstance(resource, dict):
        return "not an entry with a resource and a request", FIX
    url = request.get("url")
    if request.get("method") not in METHODS or not isinstance(url, str) or not url:
        return "the request is not a PUT or POST to a URL", FIX
    if not url.startswith(("http://", "https://")):
        return None
    try:
        target = origin(httpx.URL(url))
    except (httpx.InvalidURL, UnicodeError):
        return f"request.url {shown_url(url)} is not a valid URL", FIX
    if target == server.origin:
        return None
    return (
        f"request.url is on another origin than --server: {printable(redact(url), 200)}; not "
        "sent, so that "
        f"credentials and data stay with {server.origin}",
        "use URLs relative to the server (Type/id), as trialbridge fhir build writes them",
    )


def _answered(answer: Answer, sent: _Sent, name: str, server: Server) -> Outcome:
    """The transaction-response, entry by entry; anything else leaves the bundle not done."""
    outcome = Outcome()
    try:
        reply = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        reply = None
    answered = reply.get("entry") if isinstance(reply, dict) else None
    if not isinstance(reply, dict) or reply.get("resourceType") != "Bundle":
        kind = reply.get("resourceType") if isinstance(reply, dict) else "a body that is not JSON"
        outcome.refuse(
            sent.expected,
            f"{name}: the server answered HTTP {answer.status_code} with {kind}, not a "
            f"transaction-response ({server.outcome(answer)}); not counted as arrived",
        )
        return outcome
    if not isinstance(answered, list) or len(answered) != sent.expected:
        count = len(answered) if isinstance(answered, list) else 0
        outcome.refuse(
            sent.expected,
            f"{name}: the server's transaction-response answers {count} of the "
            f"{sent.expected} entries sent; not counted as arrived",
        )
        return outcome
    for number, got in enumerate(answered):
        response = got.get("response") if isinstance(got, dict) else None
        status = str(response.get("status", "")) if isinstance(response, dict) else ""
        code = status.split(" ", 1)[0]
        if code == "201":
            outcome.created += 1
        elif code.isdigit() and len(code) == 3 and code.startswith("2"):
            outcome.updated += 1
        else:
            said = response.get("outcome") if isinstance(response, dict) else None
            text = _said(said, server) or f"status {status or 'missing'}"
            entry = sent.entries[number]
            outcome.refuse(1, f"{entry['request']['url']}: {text} ({lineage(entry['resource'])})")
    return outcome


def _said(outcome: Any, server: Server) -> str:
    """The text of an entry's OperationOutcome, if it has one, without any credential."""
    text = issues_text(outcome)
    return server.said(text) if text else ""


def _one_by_one(entries: list[dict[str, Any]], server: Server) -> Outcome:
    """The refused transaction's resources, each sent on its own."""
    outcome = Outcome()
    for entry in entries:
        resource = entry["resource"]
        url = entry["request"]["url"]
        answer = server.request(entry["request"]["method"], url, orjson.dumps(resource))
        if answer.status_code == 201:
            outcome.created += 1
        elif answer.status_code < 300:
            outcome.updated += 1
        else:
            outcome.refuse(1, f"{url}: {server.outcome(answer)} ({lineage(resource)})")
    return outcome


def lineage(resource: dict[str, Any]) -> str:
    """The SDTM record a resource came from: dataset, record number, native source row."""
    meta = _dict(resource.get("meta"))
    tags = [_dict(t) for t in meta.get("tag", [])] if isinstance(meta.get("tag"), list) else []
    dataset = next(
        (t.get("code") for t in tags if str(t.get("system", "")).endswith("sdtm-dataset")), None
    )
    extensions = resource.get("extension")
    order = next(
        (
            e.get("valueInteger")
            for e in (_dict(x) for x in (extensions if isinstance(extensions, list) else []))
            if e.get("url") == SDTM_ORDER
        ),
        None,
    )
    parts = [f"SDTM {dataset}" + (f" record {order}" if order else "")] if dataset else []
    if meta.get("source"):
        parts.append(str(meta["source"]))
    return ", ".join(parts) or "no SDTM lineage"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
