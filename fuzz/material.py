"""The project's own inputs and outputs that seeds are cut from: the fixtures (the bundled
study and its ODM and REDCap variants) and the bundled study converted to XPT, Dataset-JSON
(JSON and NDJSON), define.xml and FHIR (bundles and NDJSON). Made once per `make fuzz`."""

from __future__ import annotations

import shutil
from pathlib import Path

from trialbridge import api

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("xpt", "json", "ndjson", "fhir")


def make(folder: Path) -> Path:
    """A fresh copy of the fixtures in `folder`/fixtures and the bundled study converted in
    `folder`/converted (sdtm/ and fhir/)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "fixtures", folder / "fixtures")
    api.convert(study(folder), folder / "converted", formats=FORMATS)
    return folder


def fixtures(material: Path) -> Path:
    return material / "fixtures"


def study(material: Path) -> Path:
    return fixtures(material) / "plmsc-spms"


def sdtm(material: Path) -> Path:
    return material / "converted" / "sdtm"


def fhir(material: Path) -> Path:
    return material / "converted" / "fhir"


def copy_fixtures(material: Path, work: Path) -> Path:
    """The fixtures copied into `work`/fixtures (a target's own study folders), returned."""
    target = work / "fixtures"
    shutil.copytree(fixtures(material), target)
    return target
