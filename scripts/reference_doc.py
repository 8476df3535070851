"""Rewrite the generated tables of docs/reference.md from the shipped SDTMIG metadata and CT.

Run after changing trialbridge/sdtm/standards (datasets or ct.tsv):
    python scripts/reference_doc.py
(tests/sdtm/test_reference_tables.py fails while the doc and the data differ)."""

from __future__ import annotations

from pathlib import Path

from trialbridge.sdtm.reference_tables import codelist_table, domain_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference.md"
TABLES = {"datasets": domain_table, "codelists": codelist_table}


def marker(name: str) -> tuple[str, str]:
    """The comments around a generated table."""
    start = f"<!-- {name}: written by scripts/reference_doc.py; do not edit by hand -->\n"
    return start, f"<!-- end of {name} -->"


def main() -> None:
    text = DOC.read_text("utf-8")
    for name, make in TABLES.items():
        start, end = marker(name)
        head, rest = text.split(start, 1)
        text = head + start + make() + end + rest.split(end, 1)[1]
    DOC.write_text(text, "utf-8")


if __name__ == "__main__":
    main()
