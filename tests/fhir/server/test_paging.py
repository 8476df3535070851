"""A pull follows a search's `next` links each once: a link back to a page already read stops
it with one line naming the link, and so does a search that pages on without end (bounded by
MAX_PAGES); the server is asked for no page twice."""

import json
from urllib.parse import parse_qs, urlsplit

from tests.fhir.server.hostile import Hostile, Reply, Seen, forward
from tests.fhir.server.sekmet import refusal
from tests.helpers import run_cli
from trialbridge.fhir.server import pull

FIX = (
    "the server's paging is broken: ask its administrator, or pull from a server with Bulk "
    "Data $export"
)
FIRST = (
    "AdverseEvent?_tag=https%3A%2F%2Ftrialbridge.org%2Ffhir%2FCodeSystem%2Fsdtm-study%7CPLMSC-SPMS"
    "&_count=500"
)


def pulled(base: str, tmp_path):
    args = ("fhir", "pull", "--server", base, "--study", "PLMSC-SPMS", "--out", tmp_path / "out")
    return run_cli(*args)


def page(next_url: str | None) -> Reply:
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return Reply(200, {"Content-Type": "application/fhir+json"}, json.dumps(bundle).encode())


def searches(server: Hostile) -> list[str]:
    return [s.path for s in server.seen if "$export" not in s.path]


def test_a_next_link_to_its_own_page_stops_the_pull(fhir_copy, server, tmp_path):
    assert run_cli("fhir", "push", fhir_copy, "--server", server.base).exit_code == 0

    def same_page(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        reply = forward(seen, server.root, front.root)
        body = json.loads(reply.body)
        body["link"] = [{"relation": "next", "url": front.root + seen.path}]
        return Reply(200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode())

    with Hostile(same_page) as front:
        line = refusal(pulled(front.base, tmp_path))
    assert line == (
        f"error: {front.base}: the next link of the AdverseEvent search leads back to a page "
        f"already read: {front.base}/{FIRST}; stopped instead of going round; {FIX}"
    )
    assert searches(front) == [f"/fhir/{FIRST}"]  # read once, not again


def test_a_cycle_of_two_pages_stops_the_pull(tmp_path):
    def two_pages(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        other = "b" if parse_qs(urlsplit(seen.path).query).get("p") != ["b"] else "a"
        return page(f"{front.base}/AdverseEvent?p={other}")

    with Hostile(two_pages) as front:
        line = refusal(pulled(front.base, tmp_path))
    assert line == (
        f"error: {front.base}: the next link of the AdverseEvent search leads back to a page "
        f"already read: {front.base}/AdverseEvent?p=b; stopped instead of going round; {FIX}"
    )
    assert searches(front) == [f"/fhir/{FIRST}", "/fhir/AdverseEvent?p=b", "/fhir/AdverseEvent?p=a"]


def test_a_search_that_pages_without_end_stops_at_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(pull, "MAX_PAGES", 5)

    def endless(seen: Seen) -> Reply:
        if "$export" in seen.path:
            return Reply(404)
        number = int(parse_qs(urlsplit(seen.path).query).get("page", ["1"])[0])
        return page(f"{front.base}/AdverseEvent?page={number + 1}")

    with Hostile(endless) as front:
        line = refusal(pulled(front.base, tmp_path))
    assert line == (
        f"error: {front.base}: the AdverseEvent search goes on past 5 pages; stopped there; {FIX}"
    )
    assert len(searches(front)) == 5


def test_the_bound_is_far_above_a_real_study():
    """25 million resources of one type at 500 a page; 1 million at 20 a page."""
    assert pull.MAX_PAGES * 500 >= 25_000_000 and pull.MAX_PAGES * 20 >= 1_000_000
