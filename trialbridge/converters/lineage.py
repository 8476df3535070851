"""The lineage columns every source table carries: the file and row a record came from, and
(after a melt) the source column of its value."""

from __future__ import annotations

from trialbridge.sdtm.lineage import COLUMN, FILE, LINEAGE, ROW

__all__ = ["BLANK", "COLUMN", "FILE", "LINEAGE", "NOTES", "ROW", "ROWS_READ", "ROWS_SKIPPED"]

# what a reader reports beside the table, in its attrs (see `counted`)
ROWS_READ = "rows_read"
ROWS_SKIPPED = "rows_skipped"
NOTES = "notes"  # what a reader changed or let pass, one line each (renamed items, lenient values)
BLANK = "blank"
