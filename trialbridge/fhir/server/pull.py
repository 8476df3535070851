"""Get a study's resources back from a FHIR server: FHIR Bulk Data `$export` for the study's
enrolled Group (async kick-off, polling with Retry-After, NDJSON download), plus a search by
the study tag for the resources outside the patient compartment; a paged search for every
type where the server has no `$export`."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.build import STUDY_TAG
from trialbridge.fhir.ids import resource_id
from trialbridge.fhir.server.transport import Server, outcome_text, retry_after
from trialbridge.fhir.table import mapped_resource_types

# what trialbridge builds outside the patient compartment (no subject or patient link)
OUTSIDE = ("ResearchStudy", "PlanDefinition", "Group", "Basic", "Medication")
POLL_LIMIT = 3600.0  # seconds an export may take


def pull(server: Server, study_id: str) -> list[dict[str, Any]]:
    """Every resource tagged with the study, once each. Types the export did not deliver (a
    server's patient compartment may leave out AdverseEvent or ResearchSubject; resources
    outside it never come) are searched by the study tag."""
    wanted = set(mapped_resource_types()) | set(OUTSIDE)
    found = export(server, study_id)
    if found is None:
        found = []
    delivered = {r.get("resourceType") for r in found}
    found += search(server, study_id, sorted((wanted - delivered) | set(OUTSIDE)))
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in found:
        if _study(resource) == study_id:
            unique[(resource["resourceType"], resource["id"])] = resource
    if not unique:
        raise UserError(f"no resources of study {study_id} on the server", server.base_url)
    return list(unique.values())


def _study(resource: dict[str, Any]) -> str | None:
    for tag in resource.get("meta", {}).get("tag", []):
        if tag.get("system") == STUDY_TAG:
            return tag.get("code")
    return None


def export(server: Server, study_id: str) -> list[dict[str, Any]] | None:
    """Group-level $export of the enrolled Group; None where the server does not offer it."""
    group = resource_id(study_id, "Group", "enrolled")
    kickoff = server.request(
        "GET", f"Group/{group}/$export", Prefer="respond-async", Accept="application/fhir+json"
    )
    if kickoff.status_code in (400, 404, 405, 501):
        return None
    if kickoff.status_code != 202 or "Content-Location" not in kickoff.headers:
        raise UserError(
            f"$export kick-off: HTTP {kickoff.status_code}: {outcome_text(kickoff)}",
            server.base_url,
        )
    manifest = _poll(server, kickoff.headers["Content-Location"])
    resources = []
    for output in manifest.get("output", []):
        response = server.request("GET", output["url"], Accept="application/fhir+ndjson")
        if response.status_code != 200:
            raise UserError(f"$export file: HTTP {response.status_code}", output["url"])
        resources += [orjson.loads(line) for line in response.content.split(b"\n") if line.strip()]
    return resources


def _poll(server: Server, status_url: str) -> dict[str, Any]:
    waited = 0.0
    while waited < POLL_LIMIT:
        response = server.request("GET", status_url)
        if response.status_code == 200:
            return response.json()
        if response.status_code != 202:
            raise UserError(
                f"$export status: HTTP {response.status_code}: {outcome_text(response)}",
                status_url,
            )
        pause = min(retry_after(response) or 1.0, 60.0)
        time.sleep(pause)
        waited += pause
    raise UserError(f"$export not finished after {POLL_LIMIT:.0f} s", status_url)


def search(server: Server, study_id: str, types: list[str]) -> list[dict[str, Any]]:
    """Paged search by the study tag, following the server's `next` links."""
    tag = quote(f"{STUDY_TAG}|{study_id}", safe="")
    resources: list[dict[str, Any]] = []
    for kind in types:
        url: str | None = f"{kind}?_tag={tag}&_count=500"
        while url:
            page = server.json("GET", url)
            resources += [e["resource"] for e in page.get("entry", []) if "resource" in e]
            url = next(
                (link["url"] for link in page.get("link", []) if link.get("relation") == "next"),
                None,
            )
    return resources
