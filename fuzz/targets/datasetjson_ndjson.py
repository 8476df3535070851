"""Dataset-JSON 1.1 as NDJSON (metadata on the first line, a row a line), read as `validate`
reads an SDTM folder of them: `read_folder`."""

from __future__ import annotations

from pathlib import Path

from fuzz import tokens
from fuzz.target import Feed, Target
from fuzz.targets.datasetjson import MAX_LEN, TOKENS, feeding, seeds_of


def prepare(work: Path, made: Path) -> Feed:
    return feeding(work, "ae.ndjson")


def seeds(made: Path) -> dict[str, bytes]:
    return seeds_of(made, ".ndjson", "datasetjson_ndjson")


TARGET = Target("datasetjson_ndjson", prepare, seeds, TOKENS, MAX_LEN, tokens.json_keys)
