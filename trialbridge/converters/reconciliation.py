"""Where every source row went: read, skipped, filtered, melted, mapped and written. Nothing a
convert drops goes uncounted; `convert` writes this as OUT/reconciliation.csv."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from trialbridge.converters.lineage import LINEAGE, NOTES, ROWS_READ, ROWS_SKIPPED
from trialbridge.sdtm.left_empty import LeftEmpty


@dataclass
class SourceCount:
    """One source table as its reader found it, and the columns no spec reads."""

    source: str
    file: str
    rows_read: int
    rows_skipped: dict[str, int]
    columns: list[str]
    notes: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    @property
    def unused(self) -> list[str]:
        return [c for c in self.columns if c not in self.used]


@dataclass(frozen=True)
class BlockCount:
    """One spec block: the source rows it saw, what `where` and the melt dropped, what it
    mapped."""

    domain: str
    source: str
    file: str
    rows_in: int
    rows_filtered: int
    melt_cells: int
    melt_empty: int
    records: int


@dataclass
class Reconciliation:
    sources: dict[str, SourceCount] = field(default_factory=dict)
    blocks: list[BlockCount] = field(default_factory=list)

    def source_read(self, name: str, file: str, table: pd.DataFrame) -> None:
        columns = [c for c in table.columns if c not in LINEAGE]
        rows_read = int(table.attrs.get(ROWS_READ, len(table)))
        skipped = dict(table.attrs.get(ROWS_SKIPPED, {}))
        notes = list(table.attrs.get(NOTES, []))
        self.sources[name] = SourceCount(name, file, rows_read, skipped, columns, notes)

    def columns_used(self, name: str, columns: set[str]) -> None:
        if name in self.sources:
            self.sources[name].used |= columns


HEADER = (
    "domain",
    "source",
    "file",
    "rows_read",
    "rows_skipped",
    "rows_filtered_by_where",
    "rows_kept",
    "melt_cells",
    "melt_cells_empty",
    "records",
    "columns_not_used",
    "notes",
)


def render(
    counts: Reconciliation,
    written: dict[str, int],
    gaps: Sequence[LeftEmpty] = (),
    derived: Mapping[str, list[str]] | None = None,
) -> bytes:
    """The CSV: a row per spec block (domain, source), a row per domain with the records
    written and one per variable it leaves empty, and a row per source with what its reader
    skipped and the columns no spec reads."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(HEADER)
    for domain in dict.fromkeys(b.domain for b in counts.blocks):
        for b in (b for b in counts.blocks if b.domain == domain):
            kept = b.rows_in - b.rows_filtered
            melt = (b.melt_cells, b.melt_empty) if b.melt_cells else ("", "")
            out.writerow(
                (
                    domain,
                    b.source,
                    b.file,
                    b.rows_in,
                    "",
                    b.rows_filtered,
                    kept,
                    *melt,
                    b.records,
                    "",
                    "",
                )
            )
        written_row = (domain, "(written)", *[""] * 7, written.get(domain, 0), "", "")
        out.writerow(written_row)
        for note in (derived or {}).get(domain, []):
            out.writerow((domain, "(derived)", *[""] * 9, note))
        for gap in (g for g in gaps if g.dataset == domain):
            out.writerow((domain, "(left empty)", *[""] * 7, gap.records, "", gap.line()))
    for s in counts.sources.values():
        skipped = "; ".join(f"{n} {why}" for why, n in sorted(s.rows_skipped.items()) if n)
        unused = "; ".join(s.unused)
        notes = "; ".join(s.notes)
        out.writerow(("", s.source, s.file, s.rows_read, skipped, *[""] * 5, unused, notes))
    return buffer.getvalue().encode()


def summary(
    counts: Reconciliation,
    written: dict[str, int],
    gaps: Sequence[LeftEmpty] = (),
    derived: Mapping[str, list[str]] | None = None,
) -> str:
    """One line for the console: the totals of the CSV."""
    read = sum(s.rows_read for s in counts.sources.values())
    skipped = sum(n for s in counts.sources.values() for n in s.rows_skipped.values())
    filtered = sum(b.rows_filtered for b in counts.blocks)
    empty = sum(b.melt_empty for b in counts.blocks)
    unused = sum(len(s.unused) for s in counts.sources.values())
    notes = sum(len(s.notes) for s in counts.sources.values())
    noted = f"; {notes:,} notes on what sources changed or let pass" if notes else ""
    left_out = sum(len(n) for n in (derived or {}).values())
    if left_out:
        noted += f"; {left_out:,} notes on records derivations left out"
    if gaps:
        noted += f"; {len(gaps):,} variables left empty on some records (warnings)"
    return (
        f"{read:,} source rows read, {skipped:,} skipped, {filtered:,} filtered by where, "
        f"{empty:,} empty melt cells, {sum(written.values()):,} records written; "
        f"{unused:,} source columns no spec reads{noted}"
    )
