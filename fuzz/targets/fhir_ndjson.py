"""FHIR NDJSON, read as `fhir to-sdtm` reads a folder of it (`api.fhir_to_sdtm`: the files
read, the resources converted to SDTM, the datasets checked and written as XPT).

Seeds: for each SDTM dataset of the bundled study's FHIR output, its resources (with the
dataset's definition, or the first few records alone when there are many), the Patients, and
every resource they refer to, as one file."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.api import fhir_to_sdtm

MAX_LEN = 65_536
FEW = 8  # records of a dataset given whole, with its definition (its record count)
_REFERENCE = re.compile(rb'"reference":"([A-Za-z]+/[^"]+)"')
_DATASET = "https://trialbridge.org/fhir/CodeSystem/sdtm-dataset"


def feeding(work: Path, file_name: str) -> Feed:
    """The feed of a FHIR folder holding one file named `file_name`."""
    folder, out = work / "fhir", work / "sdtm"
    folder.mkdir()
    path = folder / file_name

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        fhir_to_sdtm(folder, out)

    return feed


def prepare(work: Path, made: Path) -> Feed:
    return feeding(work, "resources.ndjson")


def resource_sets(made: Path) -> dict[str, list[bytes]]:
    """Per dataset, the NDJSON lines of its resources and of those they refer to."""
    lines = [
        line
        for path in sorted((material.fhir(made) / "ndjson").glob("*.ndjson"))
        for line in path.read_bytes().splitlines()
    ]
    parsed = [orjson.loads(line) for line in lines]
    by_key = {
        f"{r['resourceType']}/{r['id']}".encode(): line
        for r, line in zip(parsed, lines, strict=True)
    }
    patients = [line for line in lines if line.startswith(b'{"resourceType":"Patient"')]
    sets = {}
    for code in sorted({c for r in parsed for c in _datasets(r)}):
        members = [line for r, line in zip(parsed, lines, strict=True) if code in _datasets(r)]
        records = [
            m
            for m, r in zip(members, parsed, strict=False)
            if not m.startswith(b'{"resourceType":"Basic"')
        ]
        chosen = members if len(records) <= FEW else records[:3]
        sets[code] = _closed([*chosen, *patients], by_key)
    return sets


def _datasets(resource: dict[str, object]) -> set[str]:
    meta = resource.get("meta")
    tags = meta.get("tag", []) if isinstance(meta, dict) else []
    return {t["code"] for t in tags if isinstance(t, dict) and t.get("system") == _DATASET}


def _closed(chosen: list[bytes], by_key: dict[bytes, bytes]) -> list[bytes]:
    """`chosen` and every resource they refer to, directly or not, in the order met."""
    kept: dict[bytes, None] = dict.fromkeys(chosen)
    todo = list(chosen)
    while todo:
        for key in _REFERENCE.findall(todo.pop()):
            line = by_key.get(key)
            if line is not None and line not in kept:
                kept[line] = None
                todo.append(line)
    return list(kept)


def seeds(made: Path) -> dict[str, bytes]:
    found = {
        f"{code}.ndjson": b"\n".join(lines) + b"\n" for code, lines in resource_sets(made).items()
    }
    return under(MAX_LEN, found | fixed_seeds("fhir_ndjson"))


# JSON's edge values; the keys, resource types, code systems and extension URLs come from the
# seeds
TOKENS = (b"null", b"true", b"false", b"-0", b"1e309", b"[]", b"{}", b'"id":"', b"\\u0000")

TARGET = Target("fhir_ndjson", prepare, seeds, TOKENS, MAX_LEN, tokens.json_keys)
