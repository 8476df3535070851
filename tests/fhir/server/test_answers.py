"""What a broken or hostile server answers cannot crash the client or mislead it: a 200 that is
not a transaction-response, a transaction-response short of entries, bodies that are not JSON,
bodies too large (also once decompressed), a Retry-After of days, negative or unreadable,
redirects without end, and $export manifests or files of the wrong shape. Each is one line, or
a refused bundle that the next run sends again."""

import gzip
import json
import time
from datetime import UTC, datetime

import pytest

from tests.fhir.server.hostile import Hostile, Reply, Seen, forward
from tests.fhir.server.sekmet import built, refusal
from tests.helpers import run_cli
from trialbridge.fhir.server import answers
from trialbridge.fhir.server.transport import Server

JSON = {"Content-Type": "application/fhir+json"}
SERVER_FIX = "the server is at fault: ask its administrator"


def push(fhir, base: str, *more: str):
    return run_cli("fhir", "push", fhir, "--server", base, *more)


def pull(base: str, tmp_path):
    args = ("--study", "PLMSC-SPMS", "--out", tmp_path / "back")
    return run_cli("fhir", "pull", "--server", base, *args)


def first_post_then_forward(upstream, first: Reply):
    """A front that answers the first POST (bundle-0001, the Patients) with `first`, and
    passes every other request to the real server."""

    def answer(seen: Seen) -> Reply:
        if seen.method == "POST" and not any(s.method == "POST" for s in front.seen[:-1]):
            return first
        return forward(seen, upstream.root, front.root)

    front = Hostile(answer)
    return front


def patients_done_later(fhir, server, front, first) -> None:
    """bundle-0001 was refused: it is not done, the rest is; the next run sends only it."""
    assert first.exit_code == 1, first.output
    assert "bundles 7 sent, 0 already done; resources sent 600: created 572, updated 0, " in (
        first.output
    )
    assert "failed 28;" in first.output
    done = json.loads((fhir / ".push-checkpoint.json").read_text())[front.base]
    assert "bundle-0001.json" not in done and len(done) == 6
    again = push(fhir, front.base)
    assert again.exit_code == 0, again.output
    assert "bundles 1 sent, 6 already done; resources sent 28: created 28, updated 0" in (
        again.output
    )
    expected = built(fhir)
    assert {kind: server.count(kind) for kind in expected} == dict(expected)


def test_a_200_with_an_operation_outcome_is_not_counted_as_arrived(fhir_copy, server):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"diagnostics": "queue full"}]}
    with first_post_then_forward(server, Reply(200, JSON, json.dumps(outcome).encode())) as front:
        first = push(fhir_copy, front.base)
        assert first.stdout.splitlines()[1] == (
            "  refused: bundle-0001.json: the server answered HTTP 200 with OperationOutcome, "
            "not a transaction-response (queue full); not counted as arrived"
        )
        patients_done_later(fhir_copy, server, front, first)


def test_a_200_that_is_not_json_is_not_counted_as_arrived(fhir_copy, server):
    html = Reply(200, {"Content-Type": "text/html"}, b"<html><body>Welcome!</body></html>")
    with first_post_then_forward(server, html) as front:
        first = push(fhir_copy, front.base)
        assert first.stdout.splitlines()[1] == (
            "  refused: bundle-0001.json: the server answered HTTP 200 with a body that is not "
            "JSON, not a transaction-response (<html><body>Welcome!</body></html>); not counted "
            "as arrived"
        )
        patients_done_later(fhir_copy, server, front, first)


def test_a_transaction_response_short_of_entries_is_not_counted_as_arrived(fhir_copy, server):
    short = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created"}}] * 3,
    }
    with first_post_then_forward(server, Reply(200, JSON, json.dumps(short).encode())) as front:
        first = push(fhir_copy, front.base)
        assert first.stdout.splitlines()[1] == (
            "  refused: bundle-0001.json: the server's transaction-response answers 3 of the 28 "
            "entries sent; not counted as arrived"
        )
        patients_done_later(fhir_copy, server, front, first)


def test_a_search_page_that_is_not_json_is_one_line(tmp_path):
    def html(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        return Reply(200, {"Content-Type": "text/html"}, b"<html>Sign in</html>")

    with Hostile(html) as front:
        line = refusal(pull(front.base, tmp_path))
    assert line.startswith(f"error: {front.base}: GET {front.base}/AdverseEvent?_tag=")
    assert line.endswith(
        "&_count=500: HTTP 200 with a body that is not JSON (text/html: '<html>Sign in</html>'; "
        "unexpected character, expected a JSON value); check that --server is the FHIR base "
        "URL, or ask the server's administrator"
    )


def test_a_search_page_that_is_an_operation_outcome_is_one_line(tmp_path):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"diagnostics": "too costly"}]}

    def refuse(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        return Reply(200, JSON, json.dumps(outcome).encode())

    with Hostile(refuse) as front:
        line = refusal(pull(front.base, tmp_path))
    assert line.startswith(f"error: {front.base}/AdverseEvent?_tag=")
    assert line.endswith(
        "&_count=500: the AdverseEvent search answered with an OperationOutcome (too costly), "
        f"not a Bundle; {SERVER_FIX}"
    )


@pytest.mark.parametrize("how", ["declared", "chunked", "gzip-bomb"])
def test_an_answer_too_large_is_refused_early(tmp_path, monkeypatch, how):
    monkeypatch.setattr(answers, "JSON_LIMIT", 1024 * 1024)
    block = b" " * 65536

    def huge(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        if how == "declared":
            return Reply(200, JSON, block * 32)
        if how == "chunked":
            return Reply(200, JSON, block, chunks=100_000)  # 6.5 GB if read to the end
        bomb = gzip.compress(b" " * (64 * 1024 * 1024))  # 64 MiB in 64 KiB
        return Reply(200, JSON | {"Content-Encoding": "gzip"}, bomb)

    with Hostile(huge) as front:  # read to its end, the chunked answer would never end
        line = refusal(pull(front.base, tmp_path))
    assert line.startswith(f"error: {front.base}/AdverseEvent?_tag=")
    assert line.endswith(
        "&_count=500: the server's answer is larger than 1 MiB; not read; ask the server's "
        "administrator why it answers so much (or page the request)"
    )


def test_an_answer_that_does_not_decompress_is_one_line(tmp_path):
    def broken(seen: Seen) -> Reply:
        return Reply(200, JSON | {"Content-Encoding": "gzip"}, b"not gzip at all")

    with Hostile(broken) as front:
        line = refusal(pull(front.base, tmp_path))
    assert line.startswith(f"error: {front.base}/Group/")
    assert "/$export: the answer to GET " in line
    assert line.endswith(
        "does not decode (Content-Encoding gzip: Error -3 while decompressing data: incorrect "
        "header check); ask the server's administrator to check its compression"
    )


@pytest.mark.parametrize(
    "value,shown",
    [
        ("86400", "86,400 s"),
        ("99999999999999999999999", "for ever"),
        ("Fri, 31 Dec 2100 23:59:59 GMT", None),
    ],
)
def test_a_retry_after_of_days_stops_at_once(fhir_copy, value, shown, monkeypatch):
    def never(server: Server, seconds: float) -> None:
        raise AssertionError(f"waited {seconds} s")

    monkeypatch.setattr(Server, "_wait", never)  # stopping at once: no wait at all
    with Hostile(lambda seen: Reply(503, {"Retry-After": value})) as front:
        line = refusal(push(fhir_copy, front.base))
    said = line.split("asks to wait ")[1].split(" before")[0]
    if shown:
        assert said == shown
    else:  # a date: the seconds until then, whenever the test runs before 2100
        until = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() - time.time()
        assert float(said.removesuffix(" s").replace(",", "")) == pytest.approx(until, abs=60)
    assert line == (
        f"error: {front.base}: the server asks to wait {said} before trying again (HTTP 503, "
        "Retry-After), longer than trialbridge waits (300 s); run the command again later"
    )
    assert len(front.seen) == 1


@pytest.mark.parametrize("value", ["-5", "soon", "1.5", "²"])
def test_a_retry_after_that_is_not_a_wait_falls_back_to_backoff(fhir_copy, server, value):
    def once(seen: Seen) -> Reply:
        if len(front.seen) == 1:
            return Reply(503, {"Retry-After": value})
        return forward(seen, server.root, front.root)

    with Hostile(once) as front:
        result = push(fhir_copy, front.base)
    assert result.exit_code == 0, result.output
    assert "created 600, updated 0, failed 0; 1 retries;" in result.output


def test_redirects_without_end_are_one_line(fhir_copy):
    with Hostile(lambda seen: Reply(307, {"Location": seen.path + "x"})) as front:
        line = refusal(push(fhir_copy, front.base))
    assert line == (
        f"error: {front.base}: more than 5 redirects from POST {front.base}/; give --server "
        "the address the server finally answers on"
    )
    assert len(front.seen) == 6


def test_a_post_redirected_into_a_get_is_not_followed(fhir_copy):
    with Hostile(lambda seen: Reply(302, {"Location": "/elsewhere"})) as front:
        line = refusal(push(fhir_copy, front.base))
    assert line == (
        f"error: {front.base}: the redirect (HTTP 302) of POST {front.base}/ to "
        f"{front.root}/elsewhere would turn it into a GET; not followed; give --server the "
        "address the server redirects to"
    )


def _export_with(manifest: dict, files: dict[str, bytes] | None = None):
    """A server whose $export is done at once, with `manifest` (and `files` by path)."""

    def answer(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(202, {"Content-Location": f"{front.base}/status/1"})
        if seen.path == "/fhir/status/1":
            return Reply(200, {"Content-Type": "application/json"}, json.dumps(manifest).encode())
        if files and seen.path in files:
            return Reply(200, {"Content-Type": "application/fhir+ndjson"}, files[seen.path])
        return Reply(404)

    front = Hostile(answer)
    return front


@pytest.mark.parametrize(
    "manifest,said",
    [
        ([], "the $export manifest is not a JSON object"),
        (
            {"requiresAccessToken": "false", "output": []},
            "the $export manifest's requiresAccessToken is 'false', not true or false",
        ),
        ({"output": {"type": "Patient"}}, "the $export manifest's output is not a list"),
        ({"output": [{"type": "Patient"}]}, "the $export manifest's output 1 has no url"),
    ],
)
def test_an_export_manifest_of_the_wrong_shape_is_one_line(tmp_path, manifest, said):
    with _export_with(manifest) as front:
        line = refusal(pull(front.base, tmp_path))
    assert line == f"error: {front.base}/status/1: {said}; {SERVER_FIX}"


@pytest.mark.parametrize(
    "data,said",
    [
        (
            b'{"resourceType": "Patient", "id": "a"}\n{"resourceType": \n',
            "line 2 is not JSON (unexpected end of data)",
        ),
        (b"\n\n[1, 2]\n", "line 3: not a FHIR resource with a resourceType and an id"),
        (
            b'{"resourceType": "Patient"}\n',
            "line 1: not a FHIR resource with a resourceType and an id",
        ),
    ],
)
def test_an_export_file_of_the_wrong_shape_is_one_line(tmp_path, data, said):
    manifest = {
        "requiresAccessToken": True,
        "output": [{"type": "Patient", "url": "PLACE/fhir/files/Patient.ndjson"}],
    }
    front = _export_with(manifest, {"/fhir/files/Patient.ndjson": data})
    manifest["output"][0]["url"] = f"{front.base}/files/Patient.ndjson"
    with front:
        line = refusal(pull(front.base, tmp_path))
    separator = ": " if said.startswith("line 2") else ", "
    assert line == f"error: {front.base}/files/Patient.ndjson{separator}{said}; {SERVER_FIX}"
