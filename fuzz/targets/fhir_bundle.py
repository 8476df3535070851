"""FHIR Bundles, read as `fhir to-sdtm` reads a folder of them (`api.fhir_to_sdtm`). Seeds:
the resource sets of `fhir_ndjson` as transaction Bundles, as `fhir build` writes them, and
the build's own bundles that fit."""

from __future__ import annotations

from pathlib import Path

import orjson

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from fuzz.targets.fhir_ndjson import MAX_LEN, TOKENS, feeding, resource_sets
from trialbridge.fhir.reading import MANIFEST


def prepare(work: Path, made: Path) -> Feed:
    return feeding(work, "bundle.json")


def seeds(made: Path) -> dict[str, bytes]:
    bundles = sorted((material.fhir(made) / "bundles").glob("*.json"))
    found = {p.name: p.read_bytes() for p in bundles if p.name != MANIFEST}
    for code, lines in resource_sets(made).items():
        found[f"{code}.json"] = _bundle([orjson.loads(line) for line in lines])
    return under(MAX_LEN, found | fixed_seeds("fhir_bundle"))


def _bundle(resources: list[dict[str, object]]) -> bytes:
    entries = []
    for resource in resources:
        url = f"{resource['resourceType']}/{resource['id']}"
        entries.append(
            {"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": url}}
        )
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


BUNDLE_TOKENS = (
    *TOKENS,
    *(b'"type":"' + kind + b'"' for kind in (b"transaction", b"batch", b"collection")),
    *(b'"type":"' + kind + b'"' for kind in (b"searchset", b"document", b"history")),
    b'"method":"POST"',
    b'"method":"DELETE"',
    b'"fullUrl":"urn:uuid:',
    b'"fullUrl":"https://other.example/fhir/Patient/1"',
)

TARGET = Target("fhir_bundle", prepare, seeds, BUNDLE_TOKENS, MAX_LEN, tokens.json_keys)
