"""docs/reference.md lists the shipped datasets and codelists as they are; the counts are
checked against the data files read with the csv module."""

from __future__ import annotations

import csv
from pathlib import Path

from scripts.reference_doc import TABLES, marker

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = ROOT / "trialbridge" / "sdtm" / "standards"


def _section(name: str) -> str:
    text = (ROOT / "docs" / "reference.md").read_text("utf-8")
    start, end = marker(name)
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_doc_holds_the_generated_tables():
    for name, make in TABLES.items():
        assert _section(name) == make(), f"run python scripts/reference_doc.py ({name})"


def test_every_shipped_dataset_and_codelist_is_listed():
    with (STANDARDS / "sdtmig-3.4" / "datasets.csv").open(newline="") as handle:
        datasets = [row["domain"] for row in csv.DictReader(handle)]
    rows = [line for line in _section("datasets").splitlines() if line.startswith("| ")][2:]
    assert [line.split(" | ")[0].removeprefix("| ") for line in rows] == datasets
    assert len(datasets) == 63
    with (STANDARDS / "ct.tsv").open(newline="") as handle:
        # a codelist's own row has no Codelist Code; its terms' rows name it there
        codelists = {
            row["Code"]
            for row in csv.DictReader(handle, delimiter="\t")
            if not row["Codelist Code"]
        }
    listed = [line for line in _section("codelists").splitlines() if line.startswith("| ")][2:]
    assert len(listed) == len(codelists) == 150
