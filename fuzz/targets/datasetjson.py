"""Dataset-JSON 1.1 documents (.json), read as `validate` reads an SDTM folder of them:
`read_folder` (the Dataset-JSON reader, then the dataset built on SDTMIG metadata)."""

from __future__ import annotations

from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.sdtm.datasetjson_read import DATA_TYPES
from trialbridge.sdtm.read import read_folder

MAX_LEN = 32_768


def feeding(work: Path, file_name: str) -> Feed:
    """The feed of a folder holding one Dataset-JSON file named `file_name`."""
    folder = work / "sdtm"
    folder.mkdir()
    path = folder / file_name

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        read_folder(folder)

    return feed


def seeds_of(made: Path, suffix: str, own: str) -> dict[str, bytes]:
    """The bundled study's datasets written with `suffix`, and the hand-made seeds `own`."""
    found = {p.name: p.read_bytes() for p in sorted(material.sdtm(made).glob(f"*{suffix}"))}
    return under(MAX_LEN, found | fixed_seeds(own))


# every dataType and JSON's edge values (the keys and names come from the seeds)
TOKENS = (
    *(b'"' + t.encode() + b'"' for t in DATA_TYPES),
    *(b"null", b"true", b"false", b"-0", b"1e309", b"9007199254740993", b"[]", b"{}"),
)


def prepare(work: Path, made: Path) -> Feed:
    return feeding(work, "ae.json")


def seeds(made: Path) -> dict[str, bytes]:
    return seeds_of(made, ".json", "datasetjson")


TARGET = Target("datasetjson", prepare, seeds, TOKENS, MAX_LEN, tokens.json_keys)
