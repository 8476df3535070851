"""study.yaml, read as `convert` reads a study folder: `load_study` (with the study it
`extends`, whose folder sits beside it), then the terminology the study names
(`terminology_for`). The folder holds the bundled study's mappings and records."""

from __future__ import annotations

import shutil
from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.api import terminology_for
from trialbridge.study import Study, load_study

MAX_LEN = 16_384


def prepare(work: Path, made: Path) -> Feed:
    fixtures = material.copy_fixtures(made, work)
    root = fixtures / "fuzz-study"
    shutil.copytree(fixtures / "plmsc-spms", root)
    path = root / "study.yaml"

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        terminology_for(load_study(root), None)

    return feed


def seeds(made: Path) -> dict[str, bytes]:
    fixtures = material.fixtures(made)
    found = {f"{p.parent.name}.yaml": p.read_bytes() for p in sorted(fixtures.glob("*/study.yaml"))}
    return under(MAX_LEN, found | fixed_seeds("study_yaml"))


TOKENS = (
    *sorted(tokens.model_keys(Study)),
    *tokens.YAML_SYNTAX,
    b"extends: ../plmsc-spms/study.yaml\n",
    b"extends: study.yaml\n",
    b"../../../../etc/passwd",
    b"EX.EXSTDTC",
    b"*.--DTC",
    b"RFSTDTC",
    b"P14D",
    b"csv",
    b"xlsx",
    b"odm",
    b"redcap",
)

TARGET = Target("study_yaml", prepare, seeds, TOKENS, MAX_LEN)
