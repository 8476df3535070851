"""Credentials go only to the server's origin (scheme, host, port): a redirect, an $export
status URL, a search `next` link, a bundle entry's URL or an $export file that leads elsewhere is
refused with one line, and the stranger never sees a request; Bulk Data files go without any
credential when the manifest says they require none. Against the real server, with a hostile
front or stranger that records every request and its headers."""

import json
from pathlib import Path

from tests.fhir.server.conftest import TOKEN
from tests.fhir.server.hostile import Hostile, Reply, Seen, forward
from tests.fhir.server.sekmet import Sekmet, built, refusal, rewrite_bundle, rewrite_bytes
from tests.helpers import run_cli
from trialbridge.fhir.server.push import REQUEST
from trialbridge.roundtrip import compare
from trialbridge.sdtm.read import read_folder

# the files sekmet's Group $export writes for the study (its patient compartment)
EXPORTED = {
    f"{kind}.ndjson"
    for kind in (
        *("Encounter", "EpisodeOfCare", "Group", "MedicationAdministration"),
        *("MedicationStatement", "Observation", "Patient"),
    )
}
FIX = "give --server the address the server names itself by, or correct its base URL"


def pull(base: str, out: Path, *auth: str):
    return run_cli("fhir", "pull", "--server", base, "--study", "PLMSC-SPMS", "--out", out, *auth)


def pushed(fhir: Path, server: Sekmet, *auth: str) -> None:
    result = run_cli("fhir", "push", fhir, "--server", server.base, *auth)
    assert result.exit_code == 0, result.output


def test_a_redirect_to_another_origin_is_refused(fhir_copy, tmp_path, bearer):
    with Hostile() as stranger:
        moved = lambda seen: Reply(307, {"Location": stranger.root + seen.path})  # noqa: E731
        with Hostile(moved) as front:
            pushing = run_cli("fhir", "push", fhir_copy, "--server", front.base, *bearer)
            pulling = pull(front.base, tmp_path / "back", *bearer)
    assert refusal(pushing) == (
        f"error: {front.base}: the redirect (HTTP 307) of POST {front.base}/ is on another "
        f"origin: {stranger.base}/; not followed, so that credentials stay with {front.root}; "
        "if that address is the server's, give it as --server"
    )
    assert refusal(pulling).startswith(f"error: {front.base}: the redirect (HTTP 307) of GET ")
    assert stranger.seen == []
    assert len(front.with_credentials()) == 2  # the configured server got the token, once each
    assert TOKEN not in pushing.output + pulling.output


def test_a_redirect_within_the_origin_is_followed(fhir_copy, secured, bearer):
    def front_answer(seen: Seen) -> Reply:
        if seen.path.startswith("/old/"):  # the server moved: /old/... is now /fhir/...
            return Reply(308, {"Location": seen.path.replace("/old/", "/fhir/", 1)})
        return forward(seen, secured.root, front.root)

    with Hostile(front_answer) as front:
        result = run_cli("fhir", "push", fhir_copy, "--server", f"{front.root}/old", *bearer)
    assert result.exit_code == 0, result.output
    assert "created 600, updated 0, failed 0" in result.output
    moved = [s for s in front.seen if s.path.startswith("/old/")]
    followed = [s for s in front.seen if s.path.startswith("/fhir/")]
    assert len(moved) == len(followed) == 7  # each bundle: redirected, then sent again
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in front.seen)


def front_of(upstream: Sekmet, change=lambda seen, reply, front: reply) -> Hostile:
    """A front for the real server, whose answers `change(seen, reply, front)` may alter."""
    front = Hostile()
    front.answer = lambda seen: change(seen, forward(seen, upstream.root, front.root), front)
    return front


def test_an_export_status_url_on_another_origin_is_refused(fhir_copy, secured, bearer, tmp_path):
    pushed(fhir_copy, secured, *bearer)

    def elsewhere(seen: Seen, reply: Reply, front: Hostile) -> Reply:
        for key in [k for k in reply.headers if k.lower() == "content-location"]:
            reply.headers[key] = reply.headers[key].replace(front.root, stranger.root)
        return reply

    with Hostile() as stranger, front_of(secured, elsewhere) as front:
        line = refusal(pull(front.base, tmp_path / "back", *bearer))
    head, tail = line.split("/bulk-status/")
    assert head == (
        f"error: {front.base}: the $export status URL (Content-Location) is on another "
        f"origin: {stranger.base}"
    )
    assert tail.endswith(f"; not followed, so that credentials stay with {front.root}; {FIX}")
    assert stranger.seen == []


def test_a_next_link_on_another_origin_is_refused(fhir_copy, secured, bearer, tmp_path):
    pushed(fhir_copy, secured, *bearer)

    def next_elsewhere(seen: Seen, reply: Reply, front: Hostile) -> Reply:
        if "$export" in seen.path:
            return Reply(404)  # no Bulk Data: the pull searches
        page = json.loads(reply.body)
        page["link"] = [{"relation": "next", "url": f"{stranger.base}/Basic?page=2"}]
        return Reply(200, {"Content-Type": "application/fhir+json"}, json.dumps(page).encode())

    with Hostile() as stranger, front_of(secured, next_elsewhere) as front:
        line = refusal(pull(front.base, tmp_path / "back", *bearer))
    assert line == (
        f"error: {front.base}: the next link of the AdverseEvent search is on another "
        f"origin: {stranger.base}/Basic?page=2; not followed, so that credentials stay with "
        f"{front.root}; {FIX}"
    )
    assert stranger.seen == []


def files_at(stranger: Hostile):
    """A change of the $export manifest: its files listed on the stranger's origin."""

    def change(seen: Seen, reply: Reply, front: Hostile) -> Reply:
        if "/bulk-status/" in seen.path and reply.status == 200:
            reply.body = reply.body.replace(
                f"{front.root}/fhir/bulk-files/".encode(), f"{stranger.root}/files/".encode()
            )
        return reply

    return change


def test_export_files_that_require_the_token_are_not_fetched_elsewhere(
    fhir_copy, secured, bearer, tmp_path
):
    pushed(fhir_copy, secured, *bearer)
    with Hostile() as stranger, front_of(secured, files_at(stranger)) as front:
        line = refusal(pull(front.base, tmp_path / "back", *bearer))
    assert line.startswith(
        f"error: {front.base}: the $export file of Encounter (requiresAccessToken true) is "
        f"on another origin: {stranger.root}/files/"
    )
    assert line.endswith(f"; not followed, so that credentials stay with {front.root}; {FIX}")
    assert stranger.seen == []


def test_export_files_that_require_no_token_are_fetched_without_any(
    fhir_copy, server, bearer, tmp_path, plmsc
):
    """The server asks for no token (its manifest says requiresAccessToken false): the files on
    another origin are fetched, with no credential; the server itself still gets the token."""
    pushed(fhir_copy, server)

    def files(seen: Seen) -> Reply:
        path = seen.path.replace("/files/", "/fhir/bulk-files/", 1)
        return forward(Seen(seen.method, path, {}, b""), server.root, stranger.root)

    with Hostile(files) as stranger, front_of(server, files_at(stranger)) as front:
        result = pull(front.base, tmp_path / "back", *bearer)
    assert result.exit_code == 0, result.output
    assert {s.path.rsplit("/", 1)[1] for s in stranger.seen} == EXPORTED
    assert stranger.with_credentials() == [] and len(stranger.seen) == len(EXPORTED)
    assert all("cookie" not in s.headers for s in stranger.seen)
    assert front.with_credentials() == front.seen  # the server got the token every time
    original, back = read_folder(plmsc / "sdtm"), read_folder(tmp_path / "back")
    for name, dataset in back.items():
        assert compare(original[name], dataset).lossless, name


def test_export_files_on_the_origin_that_require_no_token_get_none(
    fhir_copy, server, bearer, tmp_path
):
    pushed(fhir_copy, server)
    with front_of(server) as front:
        result = pull(front.base, tmp_path / "back", *bearer)
    assert result.exit_code == 0, result.output
    files = [s for s in front.seen if "/bulk-files/" in s.path]
    others = [s for s in front.seen if "/bulk-files/" not in s.path]
    assert {s.path.rsplit("/", 1)[1] for s in files} == EXPORTED
    assert all("authorization" not in s.headers for s in files)
    assert others and all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in others)


def test_a_bundle_entry_on_another_origin_is_not_sent(fhir_copy, secured, bearer):
    bundle = json.loads((fhir_copy / "bundles" / "bundle-0001.json").read_text())
    patient = bundle["entry"][0]["resource"]["id"]
    with Hostile() as stranger:
        bundle["entry"][0]["request"]["url"] = f"{stranger.base}/Patient/{patient}"
        rewrite_bundle(fhir_copy, "bundle-0001.json", bundle)
        result = run_cli("fhir", "push", fhir_copy, "--server", secured.base, *bearer)
    assert refusal(result) == (
        f"error: {fhir_copy}/bundles/bundle-0001.json, entry 1: request.url is on another "
        f"origin than --server: {stranger.base}/Patient/{patient}; not sent, so that "
        f"credentials and data stay with {secured.root}; use URLs relative to the server "
        "(Type/id), as trialbridge fhir build writes them"
    )
    assert stranger.seen == []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert {k: secured.count(k, headers) for k in built(fhir_copy)} == dict.fromkeys(
        built(fhir_copy), 0
    )


def test_an_absolute_entry_url_in_the_layout_fhir_build_writes_is_not_sent(fhir_copy, server):
    """The quick check (no parse) of fhir build's layout finds it."""
    path = fhir_copy / "bundles" / "bundle-0005.json"
    with Hostile() as stranger:
        data = path.read_bytes().replace(
            b'"method":"PUT","url":"AdverseEvent/',
            f'"method":"PUT","url":"{stranger.base}/AdverseEvent/'.encode(),
            1,
        )
        rewrite_bytes(fhir_copy, path.name, data)
        result = run_cli("fhir", "push", fhir_copy, "--server", server.base)
    assert refusal(result).startswith(
        f"error: {path}, entry 1: request.url is on another origin than --server: "
        f"{stranger.base}/AdverseEvent/"
    )
    assert stranger.seen == []
    assert server.count("Patient") == 5 and server.count("AdverseEvent") == 0


def test_a_url_hidden_from_the_quick_check_is_caught_before_any_put(fhir_copy, bearer):
    """A second "request" key (the last one wins in JSON) hides an absolute URL from the quick
    check; the transaction goes to the server, which refuses it; its resources, to be sent one
    by one, are each checked first: the stranger sees nothing, the server no PUT."""
    path = fhir_copy / "bundles" / "bundle-0001.json"
    with Hostile() as stranger, Hostile(lambda seen: Reply(400)) as server:
        data = path.read_bytes()
        first = REQUEST.search(data)
        assert first is not None
        hidden = f', "request": {{"method": "PUT", "url": "{stranger.base}/Patient/x"}}'
        rewrite_bytes(
            fhir_copy, path.name, data[: first.end()] + hidden.encode() + data[first.end() :]
        )
        result = run_cli("fhir", "push", fhir_copy, "--server", server.base, *bearer)
    assert refusal(result).startswith(
        f"error: {path}, entry 1: request.url is on another origin than --server: "
        f"{stranger.base}/Patient/x; not sent"
    )
    assert stranger.seen == [] and [s.method for s in server.seen] == ["POST"]


def test_hosts_no_url_can_name_are_one_line(fhir_copy, tmp_path, bearer):
    """An IDNA label that does not decode (xn--zz) and a byte that is no text, given as
    --server or handed back as a redirect, end in one line (they ended in IDNAError and
    UnicodeEncodeError)."""
    fix = "give the FHIR base URL (https://host/path)"
    assert refusal(pull("https://xn--zz/fhir", tmp_path / "a", *bearer)) == (
        f"error: --server: the address 'https://xn--zz/fhir' is not a valid URL (Invalid "
        f"A-label); {fix}"
    )
    assert refusal(pull("https://h\udcffost/fhir", tmp_path / "b", *bearer)) == (
        "error: --server: the address 'https://h\\udcffost/fhir' is not a valid URL (Invalid "
        f"IDNA hostname: 'h\\udcffost'); {fix}"
    )
    moved = lambda seen: Reply(302, {"Location": "https://xn--zz/fhir/Group"})  # noqa: E731
    with Hostile(moved) as front:
        result = pull(front.base, tmp_path / "c", *bearer)
    assert refusal(result) == (
        f"error: {front.base}/{front.seen[0].path.split('/fhir/')[1]}: the answer to GET names "
        "a Location that is no valid URL; check that --server is the FHIR base URL, or ask the "
        "server's administrator"
    )
