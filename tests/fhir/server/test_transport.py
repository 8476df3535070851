"""The transport's arithmetic, redaction, and the token endpoint's answers, without a server."""

import threading
import time
from email.utils import formatdate
from urllib.parse import parse_qs

import httpx
import pytest

from trialbridge.errors import UserError
from trialbridge.fhir.server import auth
from trialbridge.fhir.server.origin import redact
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


def test_retry_after_that_is_not_a_wait():
    assert retry_after(answer(**{"Retry-After": "-5"})) is None
    assert retry_after(answer(**{"Retry-After": "1.5"})) is None
    superscript = httpx.Response(429, headers=[(b"Retry-After", "²".encode())])
    assert retry_after(superscript) is None  # a digit to str.isdigit(), not to float()
    assert retry_after(answer(**{"Retry-After": "9" * 40})) == float("inf")
    assert retry_after(answer(**{"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"})) == 0.0


def test_redact_hides_every_user_and_password():
    assert redact("https://user:p%40ss@host/fhir") == "https://***@host/fhir"
    assert (
        redact("see http://a:b@c@d:81/x and https://e@f/")
        == "see http://***@d:81/x and https://***@f/"
    )
    assert redact("http://host/fhir?user=a@b") == "http://host/fhir?user=a@b"  # not userinfo


def _endpoint(monkeypatch, reply: httpx.Response) -> auth.ClientCredentials:
    real = httpx.Client
    transport = httpx.MockTransport(lambda request: reply)
    monkeypatch.setattr(auth.httpx, "Client", lambda **kw: real(transport=transport, **kw))
    return auth.ClientCredentials("https://idp/token", "id", "secret", verify=True, scope="s")


@pytest.mark.parametrize(
    "reply,said",
    [
        (
            httpx.Response(302, headers={"Location": "https://u:pw@other/token"}),
            "the token endpoint redirected (HTTP 302) to https://***@other/token; not followed; "
            "give --token-url the address it redirects to, if it is the right one",
        ),
        (
            httpx.Response(200, text="<html>login</html>"),
            "the token endpoint's answer: HTTP 200 with a body that is not JSON (text/plain; "
            "charset=utf-8: '<html>login</html>'; unexpected character, expected a JSON value); "
            "check --token-url: it must be the OAuth2 token endpoint",
        ),
        (
            httpx.Response(200, json={"token_type": "bearer"}),
            "the token endpoint's answer has no access_token of printable ASCII; check "
            "--token-url: it must be the OAuth2 token endpoint",
        ),
        (
            httpx.Response(200, json={"access_token": "abc\r\nX-Evil: 1"}),
            "the token endpoint's access_token holds a control character; ask the token "
            "endpoint's administrator",
        ),
        (
            httpx.Response(401, json={"error": "invalid_client"}),
            "token endpoint refused the credentials (HTTP 401: invalid_client); check the "
            "client id, key or secret, and the scope",
        ),
    ],
)
def test_a_token_endpoint_answer_that_is_no_token_is_one_line(monkeypatch, reply, said):
    with pytest.raises(UserError) as refused:
        _endpoint(monkeypatch, reply).headers()
    assert refused.value.line() == f"https://idp/token: {said}"


@pytest.mark.parametrize(
    "expires_in,used", [(3600, 3600), ("3600", 3600), (-5, 120), ("soon", 300), (10**9, 86400)]
)
def test_a_token_lifetime_is_kept_sensible(monkeypatch, expires_in, used):
    monkeypatch.setattr(auth.time, "time", lambda: 1000.0)
    reply = httpx.Response(200, json={"access_token": "t", "expires_in": expires_in})
    endpoint = _endpoint(monkeypatch, reply)
    endpoint.headers()
    assert endpoint._token is not None and endpoint._token.expires == 1000.0 + used
