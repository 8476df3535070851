"""Only bundles the server accepted whole count as done: a push whose resources were refused
(a wrong token, a gateway that refuses them entry by entry, a resource the server finds
invalid) leaves them out of the checkpoint, so that the next run sends them again and, with
the cause fixed, finishes the job."""

import json

from tests.fhir.server.conftest import TOKEN
from tests.fhir.server.hostile import Hostile, Reply, Seen, forward
from tests.fhir.server.sekmet import Sekmet, built, refusal, rewrite_bundle
from tests.helpers import run_cli

CHECKPOINT = ".push-checkpoint.json"


def exact(server: Sekmet, fhir, headers=None) -> None:
    expected = built(fhir)
    assert {kind: server.count(kind, headers) for kind in expected} == dict(expected)


def test_a_wrong_token_then_the_right_one(fhir_copy, secured, monkeypatch, tmp_path):
    token = tmp_path / "token"
    token.write_text("not-the-token\n")
    args = ("fhir", "push", fhir_copy, "--server", secured.base, "--auth", "bearer")
    refused = run_cli(*args, "--token-file", token)
    assert refusal(refused) == (
        f"error: {secured.base}: the server refused the credentials (HTTP 401); "
        "check the token or client registration"
    )
    assert not (fhir_copy / CHECKPOINT).exists()
    token.write_text(f"{TOKEN}\n")
    result = run_cli(*args, "--token-file", token)
    assert result.exit_code == 0, result.output
    assert "bundles 7 sent, 0 already done; resources sent 600: created 600" in result.output
    exact(secured, fhir_copy, {"Authorization": f"Bearer {TOKEN}"})


def test_resources_refused_entry_by_entry_are_sent_again(fhir_copy, server, monkeypatch):
    """A gateway in front of the server answers a wrong token's transactions with 200 and a
    transaction-response whose every entry is 403: nothing arrived, nothing is done."""
    monkeypatch.setenv("TB_TOKEN", "wrong-token")

    def gateway(seen: Seen) -> Reply:
        if seen.headers.get("authorization") == f"Bearer {TOKEN}":
            return forward(seen, server.root, front.root)
        entries = json.loads(seen.body)["entry"]
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "no write"}],
        }
        answered = [{"response": {"status": "403 Forbidden", "outcome": outcome}} for _ in entries]
        reply = {"resourceType": "Bundle", "type": "transaction-response", "entry": answered}
        return Reply(200, {"Content-Type": "application/fhir+json"}, json.dumps(reply).encode())

    args = ("fhir", "push", fhir_copy, "--auth", "bearer", "--token-env", "TB_TOKEN")
    with Hostile(gateway) as front:
        first = run_cli(*args, "--server", front.base)
        assert first.exit_code == 1, first.output
        assert "bundles 7 sent, 0 already done; resources sent 600: created 0, updated 0, " in (
            first.output
        )
        assert "failed 600;" in first.output
        patient = json.loads((fhir_copy / "bundles" / "bundle-0001.json").read_text())["entry"][0]
        assert f"  refused: Patient/{patient['resource']['id']}: no write (SDTM DM record 1" in (
            first.output
        )
        assert not (fhir_copy / CHECKPOINT).exists()  # no bundle arrived
        monkeypatch.setenv("TB_TOKEN", TOKEN)
        second = run_cli(*args, "--server", front.base)
    assert second.exit_code == 0, second.output
    assert "bundles 7 sent, 0 already done; resources sent 600: created 600" in second.output
    exact(server, fhir_copy)


def test_a_resource_the_server_refuses_is_sent_again_by_the_next_run(fhir_copy, server):
    path = fhir_copy / "bundles" / "bundle-0005.json"  # the first of the records' wave
    good = json.loads(path.read_text())
    bad = json.loads(path.read_text())
    entry = next(e for e in bad["entry"] if e["resource"]["resourceType"] == "AdverseEvent")
    entry["resource"]["date"] = "21/06/2021"  # not a FHIR dateTime: the server refuses it
    rewrite_bundle(fhir_copy, path.name, bad)
    push = ("fhir", "push", fhir_copy, "--server", server.base)
    first = run_cli(*push)
    assert first.exit_code == 1 and "failed 1;" in first.output
    done = json.loads((fhir_copy / CHECKPOINT).read_text())[server.base]
    assert sorted(done) == [f"bundle-000{n}.json" for n in (1, 2, 3, 4, 6, 7)]
    again = run_cli(*push)  # not "already done": refused again, and said so
    assert again.exit_code == 1
    assert "bundles 1 sent, 6 already done; resources sent 500: created 0, updated 499, " in (
        again.output
    )
    assert f"  refused: AdverseEvent/{entry['resource']['id']}: " in again.output
    rewrite_bundle(fhir_copy, path.name, good)  # the source fixed and rebuilt
    fixed = run_cli(*push)
    assert fixed.exit_code == 0, fixed.output
    assert "bundles 1 sent, 6 already done; resources sent 500: created 1, updated 499" in (
        fixed.output
    )
    exact(server, fhir_copy)
