"""A user name and password in a URL (`--server https://user:pass@host/fhir`, or a URL a server
hands back) never shows: not in an error line, not in the push summary, not in the checkpoint
(which an earlier version keyed by the URL as given). A server that echoes the credentials back
in its answer does not get them printed either."""

import json

from tests.fhir.server.conftest import TOKEN
from tests.fhir.server.hostile import Hostile, Reply, Seen, forward
from tests.fhir.server.sekmet import Sekmet, refusal
from tests.helpers import run_cli

PASSWORD = "pw-1234"
CHECKPOINT = ".push-checkpoint.json"


def basic_server(tmp_path) -> Sekmet:
    (tmp_path / "server").mkdir()
    settings = {"types": ["basic"], "users": {"loader": PASSWORD}}
    return Sekmet(tmp_path / "server", settings).start()


def test_a_password_in_the_server_url_works_and_never_shows(fhir_copy, tmp_path):
    running = basic_server(tmp_path)
    try:
        with_password = running.base.replace("http://", f"http://loader:{PASSWORD}@")
        pushed = run_cli("fhir", "push", fhir_copy, "--server", with_password)
        assert pushed.exit_code == 0, pushed.output
        assert "created 600, updated 0, failed 0" in pushed.output
        checkpoint = (fhir_copy / CHECKPOINT).read_text()
        assert list(json.loads(checkpoint)) == [running.base]
        wrong = with_password.replace(PASSWORD, "pw-wrong")
        args = ("--study", "PLMSC-SPMS", "--out", tmp_path / "back")
        refused = run_cli("fhir", "pull", "--server", wrong, *args)
        assert refusal(refused) == (
            f"error: {running.base}: the server refused the credentials (HTTP 401); "
            "check the token or client registration"
        )
        pulled = run_cli("fhir", "pull", "--server", with_password, *args)
        assert pulled.exit_code == 0, pulled.output
    finally:
        running.stop()
    for text in (pushed.output, checkpoint, refused.output, pulled.output):
        assert PASSWORD not in text and "pw-wrong" not in text and "loader" not in text


def test_an_earlier_checkpoint_keyed_with_a_password_is_cleaned(fhir_copy, server):
    manifest = json.loads((fhir_copy / "bundles" / "manifest.json").read_text())["bundles"]
    with_password = server.base.replace("http://", f"http://loader:{PASSWORD}@")
    done = {b["file"]: b["sha256"] for b in manifest}
    (fhir_copy / CHECKPOINT).write_text(json.dumps({with_password: done}))
    result = run_cli("fhir", "push", fhir_copy, "--server", server.base)
    assert result.exit_code == 0, result.output
    assert "bundles 0 sent, 7 already done" in result.output  # the same server, the same record
    assert json.loads((fhir_copy / CHECKPOINT).read_text()) == {server.base: done}


def test_a_password_in_a_url_the_server_hands_back_never_shows(fhir_copy, tmp_path, bearer):
    with Hostile() as stranger:
        elsewhere = stranger.root.replace("http://", "http://admin:hunter2@")
        moved = lambda seen: Reply(302, {"Location": f"{elsewhere}{seen.path}"})  # noqa: E731
        with Hostile(moved) as front:
            args = ("--study", "PLMSC-SPMS", "--out", tmp_path / "back", *bearer)
            result = run_cli("fhir", "pull", "--server", front.base, *args)
    group = "Group/" + front.seen[0].path.split("/Group/")[1]
    assert refusal(result) == (
        f"error: {front.base}: the redirect (HTTP 302) of GET {front.base}/{group} is on another "
        f"origin: {stranger.base}/{group}; not followed, so that "
        f"credentials stay with {front.root}; if that address is the server's, give it as "
        "--server"
    )
    assert "hunter2" not in result.output and stranger.seen == []


def test_a_user_and_password_in_a_link_on_the_origin_are_not_sent(
    fhir_copy, server, bearer, tmp_path
):
    """httpx would turn them into Basic credentials, in place of the token: they are dropped."""
    assert run_cli("fhir", "push", fhir_copy, "--server", server.base).exit_code == 0

    def with_userinfo(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        reply = forward(seen, server.root, front.root)
        if "page=2" not in seen.path and "AdverseEvent" in seen.path:
            body = json.loads(reply.body)
            link = front.base.replace("http://", "http://mallory:pw@") + "/AdverseEvent?page=2"
            body["link"] = [{"relation": "next", "url": link}]
            reply.body = json.dumps(body).encode()
        return reply

    with Hostile(with_userinfo) as front:
        args = ("--study", "PLMSC-SPMS", "--out", tmp_path / "back", *bearer)
        result = run_cli("fhir", "pull", "--server", front.base, *args)
    assert result.exit_code == 0, result.output
    followed = [s for s in front.seen if "page=2" in s.path]
    assert len(followed) == 1 and followed[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_credentials_a_server_echoes_are_not_printed(fhir_copy, bearer):
    def echo(seen: Seen) -> Reply:
        said = f"refused header Authorization: {seen.headers.get('authorization')}"
        outcome = {"resourceType": "OperationOutcome", "issue": [{"diagnostics": said}]}
        return Reply(403, {"Content-Type": "application/fhir+json"}, json.dumps(outcome).encode())

    with Hostile(echo) as front:
        result = run_cli("fhir", "push", fhir_copy, "--server", front.base, *bearer)
    assert refusal(result) == (
        f"error: {front.base}: bundle-0001.json: HTTP 403: refused header Authorization: Bearer ***"
    )
    assert TOKEN not in result.output


def test_a_token_endpoint_that_echoes_the_secret_does_not_get_it_printed(fhir_copy, tmp_path):
    """The token endpoint's refusal and its non-JSON answer are shown scrubbed: the client
    secret, its Basic pair and (SMART) the client assertion never reach the line."""
    secret = "client-secret-42"
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret + "\n")

    def echo(seen: Seen) -> Reply:
        said = f"bad secret {secret} for {seen.headers.get('authorization')}, got {seen.body!r}"
        if seen.path.endswith("/json"):
            return Reply(
                401, {"Content-Type": "application/json"}, json.dumps({"error": said}).encode()
            )
        return Reply(200, {"Content-Type": "text/plain"}, f"\x1b[2J{said}".encode())

    lines = []
    with Hostile(echo) as endpoint:
        for path in ("json", "text"):
            credentials = ("--auth", "client-credentials", "--client-id", "etl")
            token = ("--token-url", f"{endpoint.root}/{path}", "--token-file", secret_file)
            result = run_cli(
                "fhir", "push", fhir_copy, "--server", endpoint.base, *credentials, *token
            )
            lines.append(refusal(result))
    for line in lines:
        assert secret not in line and "ZXRsOmNsaWVudC1zZWNyZXQtNDI=" not in line, line
        assert "\x1b" not in line and len(line) < 600, line
    assert lines[0].startswith(
        f"error: {endpoint.root}/json: token endpoint refused the credentials (HTTP 401: bad "
        "secret *** for Basic ***, got"
    )


def test_a_password_holding_a_slash_never_shows(fhir_copy):
    """redact ends the user info at the first / ? or #: a URL that does not parse shows
    nothing between :// and its last @, and not httpx's words (which quote the password)."""
    result = run_cli(
        "fhir", "push", fhir_copy, "--server", "https://loader:se/cr?et@fhir.example.org/fhir"
    )
    assert refusal(result) == (
        "error: --server: the address 'https://***@fhir.example.org/fhir' is not a valid URL; "
        "give the FHIR base URL (https://host/path)"
    )


def test_a_server_s_words_are_scrubbed_before_they_are_cut_and_escaped(fhir_copy, bearer):
    """An echoed token across the cut (80 characters of a body that is not JSON) left its
    start on the line; an ESC or BEL in an OperationOutcome went to the terminal as it was."""

    def not_json(seen: Seen) -> Reply:
        body = f"{'x' * 70} {seen.headers.get('authorization')}".encode()
        return Reply(200, {"Content-Type": "text/plain"}, body)

    with Hostile(not_json) as front:
        result = run_cli("fhir", "push", fhir_copy, "--server", front.base, *bearer)
    refused = [line for line in result.output.splitlines() if "refused:" in line]
    assert len(refused) == 7 and result.exit_code == 1
    for line in refused:
        assert line.endswith(f"(x{'x' * 69} Bearer ***); not counted as arrived"), line
    assert TOKEN[:4] not in result.output

    def shouting(seen: Seen) -> Reply:
        said = "\x1b[2Jrefused\x07 " + "y" * 2_000
        outcome = {"resourceType": "OperationOutcome", "issue": [{"diagnostics": said}]}
        return Reply(403, {"Content-Type": "application/fhir+json"}, json.dumps(outcome).encode())

    with Hostile(shouting) as front:
        result = run_cli("fhir", "push", fhir_copy, "--server", front.base, *bearer)
    line = refusal(result)
    assert line.startswith(
        f"error: {front.base}: bundle-0001.json: HTTP 403: \\x1b[2Jrefused\\x07 "
    )
    assert "\x1b" not in line and "\x07" not in line and len(line) < 500
