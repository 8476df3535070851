"""Domain mapping specs (mappings/*.yaml), read as `convert` reads them: a study folder whose
`domains` name the input, and the mapper run over it (`Mapper.run`: every spec loaded and
validated, the names they refer to checked, each domain mapped from the bundled study's
records).

The input's study extends the bundled one and maps it beside DM and EX, which the study's
reference dates need, and AE, which the bundled CM spec relates to; when the input says it
maps one of those, the bundled spec of that domain is left out (two specs for one domain are
refused before anything else is looked at)."""

from __future__ import annotations

import re
from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.converters.engine import Mapper
from trialbridge.mappings.spec import DomainSpec
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.study import StudyFolder, load_study

MAX_LEN = 16_384
COMPANIONS = {"DM": "dm.yaml", "EX": "ex.yaml", "AE": "ae.yaml"}
_DOMAIN = re.compile(rb"^domain:\s*['\"]?([A-Z]{2})\b", re.MULTILINE)


def prepare(work: Path, made: Path) -> Feed:
    fixtures = material.copy_fixtures(made, work)
    ct = shipped_terminology()
    folders = {alone: _study(fixtures, alone) for alone in (None, *COMPANIONS)}

    def feed(data: bytes) -> None:
        found = _DOMAIN.search(data)
        folder = folders.get(found.group(1).decode() if found else None, folders[None])
        (folder.root / "mappings" / "fuzz.yaml").write_bytes(data)
        Mapper(folder, ct).run()

    return feed


def _study(fixtures: Path, replaced: str | None) -> StudyFolder:
    """A study that maps mappings/fuzz.yaml and the companions but the one it replaces."""
    root = fixtures / f"fuzz-spec-{replaced or 'other'}"
    (root / "mappings").mkdir(parents=True)
    names = ["fuzz.yaml", *(f for domain, f in COMPANIONS.items() if domain != replaced)]
    text = f"extends: ../plmsc-spms/study.yaml\ndomains: [{', '.join(names)}]\n"
    (root / "study.yaml").write_text(text, encoding="utf-8")
    return load_study(root)


def seeds(made: Path) -> dict[str, bytes]:
    """The bundled study's specs (the ODM and REDCap variants' read other sources) and the
    hand-made ones."""
    found = {p.name: p.read_bytes() for p in sorted(material.study(made).glob("mappings/*.yaml"))}
    return under(MAX_LEN, found | fixed_seeds("spec"))


TOKENS = (
    *sorted(tokens.model_keys(DomainSpec)),
    *(b"{" + name + b": " for name in (b"copy", b"constant", b"recode", b"date", b"concat")),
    *(b"{" + name + b": " for name in (b"lookup", b"when", b"if", b"then", b"else")),
    *tokens.YAML_SYNTAX,
    *(b"domain: " + d + b"\n" for d in (b"DM", b"AE", b"LB", b"EX", b"SE", b"XX", b"SUPPAE")),
    b"source: adverse_events",
    b"source: demographics",
    b"Subject No.",
    b"dd/mm/yyyy",
    b"yyyy-mm-ddThh:mm",
    b"mm/yyyy",
    b"codelist: NY",
    b"RESULT",
    b"USUBJID",
    b"--DTC",
)

TARGET = Target("spec", prepare, seeds, TOKENS, MAX_LEN)
