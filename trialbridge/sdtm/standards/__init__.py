"""SDTMIG 3.4 variable metadata, a CDISC CT subset and trialbridge's own tables (unit
conversions, derivation rules and reasons), shipped as data files."""

from __future__ import annotations

import csv
from importlib import resources


def rows(name: str) -> list[dict[str, str]]:
    """A CSV table shipped here (`name` relative to this folder), as rows of text."""
    text = resources.files(__name__).joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))
