"""Rewrite the table listing of docs/units.md from trialbridge/sdtm/standards/*.csv.

Run after editing unit_conversions.csv, cdisc_ucum.csv or molecular_weights.csv:
    python scripts/units_doc.py
(tests/sdtm/test_units.py fails while the doc and the tables differ)."""

from __future__ import annotations

from pathlib import Path

from trialbridge.sdtm.units import markdown_tables

DOC = Path(__file__).resolve().parents[1] / "docs" / "units.md"
START = "<!-- tables: written by scripts/units_doc.py; do not edit by hand -->\n"
END = "<!-- end of tables -->"


def main() -> None:
    text = DOC.read_text("utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(head + START + markdown_tables() + END + tail, "utf-8")


if __name__ == "__main__":
    main()
