"""A fault-injecting HTTP proxy on loopback: in front of the FHIR server, it answers some
requests with 429 or 503 (Retry-After: 1), drops some connections before forwarding them, and
drops some after the server has done the work, so the client never hears the answer. The
first attempt of each distinct request meets the next fault of the plan and a repeat passes,
so a test run is the same whatever the threads' timing."""

from __future__ import annotations

import hashlib
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.fhir.server.sekmet import free_port

# the fate of request n, in turn: the plan repeats
PLAN = ("429", "pass", "drop-before", "503", "pass", "drop-after", "pass")


class FaultProxy:
    def __init__(
        self, upstream_root: str, plan: tuple[str, ...] = PLAN, no_export: bool = False
    ) -> None:
        self.upstream = upstream_root.rstrip("/")
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.fates: dict[str, int] = {}
        counter = itertools.count()
        seen: set[tuple[str, str, str]] = set()
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                key = (self.command, self.path, hashlib.sha256(body or b"").hexdigest())
                with lock:
                    repeat = key in seen
                    seen.add(key)
                    fate = "pass" if repeat else plan[next(counter) % len(plan)]
                if no_export and "$export" in self.path:  # a server without Bulk Data
                    fate = "404"
                with lock:
                    proxy.fates[fate] = proxy.fates.get(fate, 0) + 1
                if fate == "404":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                    proxy.fates[fate] = proxy.fates.get(fate, 0) + 1
                if fate in ("429", "503"):
                    self.send_response(int(fate))
                    self.send_header("Retry-After", "1")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fate == "drop-before":
                    self.close_connection = True
                    self.connection.close()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx.request(
                    self.command,
                    proxy.upstream + self.path,
                    content=body,
                    headers=headers,
                    timeout=120,
                )
                if fate == "drop-after":  # the server did it; the client never learns
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(key, value.replace(proxy.upstream, proxy.root))
                data = answer.content.replace(proxy.upstream.encode(), proxy.root.encode())
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
