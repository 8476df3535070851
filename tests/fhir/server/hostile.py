"""A small hostile HTTP server on loopback for the security tests: it answers each request as
the test tells it (or passes it on to the real FHIR server, changing what it likes on the way),
and records every request it got with its headers, so that a test can say which requests
carried credentials and which never came."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP = ("content-length", "transfer-encoding", "connection", "content-encoding", "host")


@dataclass
class Seen:
    method: str
    path: str  # with the query
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: int = 0  # > 0: the body is sent this many times over, chunked, with no length


Answer = Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (as it should on an answer too large) is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class Hostile:
    def __init__(self, answer: Answer | None = None) -> None:
        self.answer: Answer = answer or (lambda seen: Reply(404))
        self.seen: list[Seen] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with lock:
                    server.seen.append(seen)
                reply = server.answer(seen)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunks:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for _ in range(reply.chunks):
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(reply.body), reply.body))
                        self.wfile.write(b"0\r\n\r\n")
                    except ConnectionError:  # the client stopped reading, as it should
                        self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except ConnectionError:
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = _Server(("127.0.0.1", 0), Handler)  # a free port, bound at once
        self.port = self.server.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}"
        self.base = f"{self.root}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def with_credentials(self) -> list[Seen]:
        return [s for s in self.seen if "authorization" in s.headers]


def forward(seen: Seen, upstream_root: str, front_root: str) -> Reply:
    """`seen` passed on to the real server, its answer brought back with the server's own
    address replaced by the front's (as a reverse proxy that knows its public address does)."""
    headers = {k: v for k, v in seen.headers.items() if k not in HOP}
    answer = httpx.request(
        seen.method, upstream_root + seen.path, content=seen.body, headers=headers, timeout=120
    )
    return Reply(
        answer.status_code,
        {
            k: v.replace(upstream_root, front_root)
            for k, v in answer.headers.items()
            if k.lower() not in HOP
        },
        answer.content.replace(upstream_root.encode(), front_root.encode()),
    )
