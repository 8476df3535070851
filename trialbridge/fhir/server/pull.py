"""Get a study's resources back from a FHIR server: FHIR Bulk Data `$export` for the study's
enrolled Group (async kick-off, polling with Retry-After, NDJSON download), plus a search by
the study tag for the resources outside the patient compartment; a paged search for every
type where the server has no `$export`.

What the server hands back is checked before it is followed: a status URL or a `next` link on
another origin is refused (credentials stay with the server); an output file the manifest
says requires the token is fetched with it on the server's origin and refused elsewhere, one
that requires none is fetched without any credential. A `next` link that leads back to a page
already read, or a search that pages on past MAX_PAGES, stops the pull with one line instead
of looping."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.build import STUDY_TAG
from trialbridge.fhir.ids import resource_id
from trialbridge.fhir.reading import MAX_DEPTH, nesting
from trialbridge.fhir.server.answers import Answer, MiB, issues_text, json_of, retry_after
from trialbridge.fhir.server.origin import redact
from trialbridge.fhir.server.transport import SERVER_FIX, Server
from trialbridge.fhir.table import mapped_resource_types

# what trialbridge builds outside the patient compartment (no subject or patient link)
OUTSIDE = ("ResearchStudy", "PlanDefinition", "Group", "Basic", "Medication")
POLL_LIMIT = 3600.0  # seconds an export may take
MAX_PAGES = 50_000  # pages of one type's search: 25 million resources at 500 a page
FILE_LIMIT = 4096 * MiB  # bytes of one $export file
PAGING_FIX = (
    "the server's paging is broken: ask its administrator, or pull from a server with Bulk "
    "Data $export"
)


@dataclass(frozen=True)
class Pulled:
    """The study's resources as got, and what was left out of them (counted, never unseen)."""

    resources: list[dict[str, Any]]
    copies: int  # identical copies of a resource (from $export and a search), read once
    other_studies: int  # resources of the export tagged with another study
    foreign: list[dict[str, Any]]  # resources of the export without a study tag
    exported: bool  # False: no $export, so resources without the study tag were not sought


def pull(server: Server, study_id: str) -> Pulled:
    """Every resource tagged with the study, once each. Types the export did not deliver (a
    server's patient compartment may leave out AdverseEvent or ResearchSubject; resources
    outside it never come) are searched by the study tag."""
    wanted = set(mapped_resource_types()) | set(OUTSIDE)
    found = export(server, study_id)
    exported = found is not None
    if found is None:
        found = []
    delivered = {r["resourceType"] for r in found}
    found += search(server, study_id, sorted((wanted - delivered) | set(OUTSIDE)))
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    different: list[dict[str, Any]] = []  # one id, other content: the reader names them
    copies = other = 0
    foreign: dict[tuple[str, str], dict[str, Any]] = {}  # another system's, once each
    for resource in found:
        study = _study(resource)
        if study is None:
            foreign.setdefault((resource["resourceType"], resource["id"]), resource)
            continue
        if study != study_id:
            other += 1
            continue
        key = (resource["resourceType"], resource["id"])
        if key not in unique:
            unique[key] = resource
        elif unique[key] == resource:
            copies += 1
        else:
            different.append(resource)
    if not unique:
        raise UserError(f"no resources of study {study_id} on the server", server.base_url)
    return Pulled([*unique.values(), *different], copies, other, list(foreign.values()), exported)


def _study(resource: dict[str, Any]) -> str | None:
    meta = resource.get("meta")
    tags = meta.get("tag") if isinstance(meta, dict) else None
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and tag.get("system") == STUDY_TAG:
            code = tag.get("code")
            return code if isinstance(code, str) else None
    return None


def export(server: Server, study_id: str) -> list[dict[str, Any]] | None:
    """Group-level $export of the enrolled Group; None where the server does not offer it."""
    group = resource_id(study_id, "Group", "enrolled")
    kickoff = server.request(
        "GET", f"Group/{group}/$export", Prefer="respond-async", Accept="application/fhir+json"
    )
    if kickoff.status_code in (400, 404, 405, 501):
        return None
    location = kickoff.headers.get("Content-Location")
    if kickoff.status_code != 202 or not location:
        raise UserError(
            f"$export kick-off: HTTP {kickoff.status_code}: {server.outcome(kickoff)}",
            server.base_url,
        )
    named = "the $export status URL (Content-Location)"
    status_url = server.on_origin(location, named, kickoff.url)
    manifest = _poll(server, status_url)
    needs_token, outputs = _outputs(manifest, server, redact(status_url))
    resources: list[dict[str, Any]] = []
    for kind, url in outputs:
        resources += _file(server, kind, url, needs_token, status_url)
    return resources


def _poll(server: Server, status_url: str) -> Any:
    waited = 0.0
    shown = redact(status_url)
    while waited < POLL_LIMIT:
        answer = server.request("GET", status_url)
        if answer.status_code == 200:
            return json_of(answer, "$export status", shown)
        if answer.status_code != 202:
            raise UserError(
                f"$export status: HTTP {answer.status_code}: {server.outcome(answer)}", shown
            )
        pause = min(retry_after(answer) or 1.0, 60.0)
        time.sleep(pause)
        waited += pause
    raise UserError(f"$export not finished after {POLL_LIMIT:.0f} s", shown)


def _outputs(manifest: Any, server: Server, where: str) -> tuple[bool, list[tuple[str, str]]]:
    """(whether the files require the access token, [(type, url)]) from an $export manifest;
    requiresAccessToken is taken as true when it is missing: the token then goes nowhere but
    the server's origin."""
    if not isinstance(manifest, dict):
        raise UserError("the $export manifest is not a JSON object", where, SERVER_FIX)
    needs_token = manifest.get("requiresAccessToken", True)
    if not isinstance(needs_token, bool):
        raise UserError(
            f"the $export manifest's requiresAccessToken is {needs_token!r}, not true or false",
            where,
            SERVER_FIX,
        )
    listed = manifest.get("output", [])
    if not isinstance(listed, list):
        raise UserError("the $export manifest's output is not a list", where, SERVER_FIX)
    outputs = []
    for number, item in enumerate(listed, 1):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str):
            raise UserError(f"the $export manifest's output {number} has no url", where, SERVER_FIX)
        kind = item.get("type")
        outputs.append((kind if isinstance(kind, str) else f"output {number}", url))
    return needs_token, outputs


def _file(
    server: Server, kind: str, link: str, needs_token: bool, status_url: str
) -> list[dict[str, Any]]:
    """An $export file: with the token only if it requires one (and then only on the server's
    origin); without any credential if not, wherever it is."""
    named = f"the $export file of {kind} (requiresAccessToken {str(needs_token).lower()})"
    if needs_token:
        url = server.on_origin(link, named, status_url)
    else:
        url = server.resolve(link, named, status_url)
    answer = server.request(
        "GET", url, credentials=needs_token, limit=FILE_LIMIT, Accept="application/fhir+ndjson"
    )
    if answer.status_code != 200:
        raise UserError(
            f"$export file: HTTP {answer.status_code}: {server.outcome(answer)}", redact(url)
        )
    return _ndjson(answer, redact(url))


def _ndjson(answer: Answer, where: str) -> list[dict[str, Any]]:
    resources = []
    for number, line in enumerate(answer.content.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as problem:
            raise UserError(
                f"line {number} is not JSON ({problem.msg})", where, SERVER_FIX
            ) from None
        resources.append(_resource(resource, f"{where}, line {number}"))
    return resources


def _resource(resource: Any, where: str) -> dict[str, Any]:
    """A resource as the server gave it: an object with a resourceType and an id."""
    if not (
        isinstance(resource, dict)
        and isinstance(resource.get("resourceType"), str)
        and isinstance(resource.get("id"), str)
    ):
        raise UserError("not a FHIR resource with a resourceType and an id", where, SERVER_FIX)
    if nesting(resource) > MAX_DEPTH:  # before copies are compared, which recurses
        raise UserError(f"a resource nested deeper than {MAX_DEPTH} levels", where, SERVER_FIX)
    return resource


def search(server: Server, study_id: str, types: list[str]) -> list[dict[str, Any]]:
    """Paged search by the study tag, following the server's `next` links on its origin, each
    page once, at most MAX_PAGES of them per type."""
    tag = quote(f"{STUDY_TAG}|{study_id}", safe="")
    resources: list[dict[str, Any]] = []
    for kind in types:
        url = server.resolve(f"{kind}?_tag={tag}&_count=500", f"the search for {kind}")
        seen = {url}
        while True:
            page = server.json("GET", url)
            resources += _entries(page, kind, redact(url), server)
            link = _next(page)
            if link is None:
                break
            named = f"the next link of the {kind} search"
            url = server.on_origin(link, named, url)
            if url in seen:
                raise UserError(
                    f"{named} leads back to a page already read: {redact(url)}; stopped "
                    "instead of going round",
                    server.base_url,
                    PAGING_FIX,
                )
            if len(seen) == MAX_PAGES:
                raise UserError(
                    f"the {kind} search goes on past {MAX_PAGES:,} pages; stopped there",
                    server.base_url,
                    PAGING_FIX,
                )
            seen.add(url)
    return resources


def _entries(page: Any, kind: str, where: str, server: Server) -> list[dict[str, Any]]:
    if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
        said = issues_text(page)
        what = f"an OperationOutcome ({server.said(said)})" if said else "something else"
        raise UserError(f"the {kind} search answered with {what}, not a Bundle", where, SERVER_FIX)
    entries = page.get("entry", [])
    if not isinstance(entries, list):
        raise UserError(f"the {kind} search's Bundle.entry is not a list", where, SERVER_FIX)
    return [
        _resource(e["resource"], f"{where}, entry {number}")
        for number, e in enumerate(entries, 1)
        if isinstance(e, dict) and "resource" in e
    ]


def _next(page: dict[str, Any]) -> str | None:
    links = page.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None
