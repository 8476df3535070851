"""The transport's arithmetic and the token cache, without a server."""

import threading
import time
from email.utils import formatdate
from urllib.parse import parse_qs

import httpx

from trialbridge.fhir.server import auth
from trialbridge.fhir.server.transport import Retry, retry_after


def answer(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after(answer(**{"Retry-After": "3"})) == 3.0
    in_ten = retry_after(answer(**{"Retry-After": formatdate(time.time() + 10, usegmt=True)}))
    assert in_ten is not None and 8.0 <= in_ten <= 10.0
    assert retry_after(answer(**{"Retry-After": "soon"})) is None
    assert retry_after(answer()) is None


def test_backoff_grows_and_is_capped():
    retry = Retry(base=0.5, cap=30.0)
    for attempt in range(10):
        waits = [retry.backoff(attempt) for _ in range(200)]
        assert min(waits) >= 0 and max(waits) <= min(30.0, 0.5 * 2**attempt)


def test_one_token_for_many_threads_renewed_before_it_expires(monkeypatch):
    calls = []
    now = [1_000_000.0]

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        calls.append(parse_qs(request.content.decode())["grant_type"][0])
        return httpx.Response(200, json={"access_token": f"t{len(calls)}", "expires_in": 120})

    real = httpx.Client
    monkeypatch.setattr(
        auth.httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(token_endpoint), **kw)
    )
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    client = auth.ClientCredentials("https://idp/token", "id", "secret", verify=True, scope="s")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(client.headers())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and {h["Authorization"] for h in seen} == {"Bearer t1"}
    now[0] += 59  # 61 s left: still good
    assert client.headers() == {"Authorization": "Bearer t1"} and len(calls) == 1
    now[0] += 2  # 59 s left: renewed before it expires
    assert client.headers() == {"Authorization": "Bearer t2"} and len(calls) == 2
