"""define.xml, read as `validate` reads the one beside an SDTM folder's datasets
(`read_define`). Seeds: small define.xml files the project writes for a few datasets of the
bundled study, and the whole one when it fits."""

from __future__ import annotations

from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Feed, Target, under
from trialbridge.api import creation_time
from trialbridge.build import build
from trialbridge.sdtm import define_xml
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.define_model import Builder
from trialbridge.sdtm.define_read import read_define
from trialbridge.study import load_study

MAX_LEN = 65_536
SUBSETS = (("DM",), ("AE", "SUPPAE"), ("TS",), ("LB",), ("RELREC", "CM"))


def prepare(work: Path, made: Path) -> Feed:
    path = work / "define.xml"

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        read_define(path)

    return feed


def seeds(made: Path) -> dict[str, bytes]:
    folder = load_study(material.study(made))
    ct = shipped_terminology()
    built = build(folder, ct)
    found = {"define.xml": (material.sdtm(made) / "define.xml").read_bytes()}
    for names in SUBSETS:
        builder = Builder(folder.study, ct, creation_time(folder.study), built.specs, {})
        for name in names:
            builder.add(built.datasets[name], f"{name.lower()}.xpt")
        found[f"define-{'-'.join(names).lower()}.xml"] = define_xml.render(builder.model)
    return under(MAX_LEN, found)


TOKENS = (
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b"<!DOCTYPE",
    b"<!ENTITY",
    b'xmlns="http://www.cdisc.org/ns/odm/v1.3"',
    b'xmlns:def="http://www.cdisc.org/ns/def/v2.1"',
    b"def:",
    b"&amp;",
    b"&#0;",
    b"<![CDATA[",
    b"<!-- -->",
    b"<?pi?>",
    b"<o:",
)

TARGET = Target("define", prepare, seeds, TOKENS, MAX_LEN, tokens.xml_names)
