"""What each column of a raw table holds: how often it is filled, its distinct values, whether
they are dates (and in which of the formats the mapping language reads), times, whole or
decimal numbers, or text, and the unit its header names ("HGB (g/dL)")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from trialbridge.converters.dates import MONTHS, format_regex
from trialbridge.sdtm.lineage import LINEAGE

# the date formats a draft may propose, most usual first; dd/mm and mm/dd are told apart by a
# day above 12 (without one the first is proposed and the choice marked for the user)
DATE_FORMATS = (
    "yyyy-mm-dd",
    "dd/mm/yyyy",
    "mm/dd/yyyy",
    "dd-mmm-yyyy",
    "dd mmm yyyy",
    "dd.mm.yyyy",
    "dd-mm-yyyy",
    "mm-dd-yyyy",
    "yyyy/mm/dd",
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_UNIT = re.compile(r"\(([^()]+)\)\s*$")
SHOWN = 20  # distinct values kept per column
DATES = 0.8  # a column is a date column when this share of its distinct values are dates


@dataclass(frozen=True)
class ItemText:
    """What an EDC's metadata says of an item: its question or field label, and its codes'
    labels (a codelist's decodes, a REDCap field's choices)."""

    text: str = ""
    legend: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ColumnProfile:
    """One column: `kind` is empty, date, time, integer, decimal or text."""

    name: str
    filled: int
    distinct: tuple[str, ...]  # the most frequent first, at most SHOWN
    distinct_count: int
    kind: str
    date_format: str | None = None
    ambiguous: bool = False  # day and month could be either way round
    unit: str | None = None
    text: str = ""  # what an EDC's metadata says of the item (question, field label)
    legend: tuple[tuple[str, str], ...] = ()  # its codes' labels, from that metadata

    @property
    def label(self) -> str:
        """The item's text, else its header, without the unit in parentheses."""
        return _UNIT.sub("", self.text or self.name).strip()

    @property
    def header(self) -> str:
        """The words a guess reads: the header and the item's text."""
        return f"{self.name} {self.text}".strip()


def profile(
    table: pd.DataFrame,
    items: dict[str, ItemText] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[ColumnProfile]:
    """Every column of a source table as read, with what the EDC's metadata says of it
    (lineage columns and the `skip` keys left out)."""
    items = items or {}
    return [
        _column(name, table[name], items.get(name, ItemText()))
        for name in table.columns
        if name not in LINEAGE and name not in skip
    ]


def _column(name: str, values: pd.Series, item: ItemText) -> ColumnProfile:
    present = values.dropna().astype(str)
    present = present[present.str.strip() != ""]
    counts = present.value_counts(sort=True)
    distinct = tuple(str(v) for v in counts.index[:SHOWN])
    unit_match = _UNIT.search(item.text or name)
    unit = unit_match.group(1).strip() if unit_match else None
    kind, fmt, ambiguous = _kind(pd.Series(counts.index, dtype=str))
    return ColumnProfile(
        name,
        len(present),
        distinct,
        len(counts),
        kind,
        fmt,
        ambiguous,
        unit,
        item.text,
        item.legend,
    )


def _kind(distinct: pd.Series) -> tuple[str, str | None, bool]:
    """The column's kind from its distinct values (all of them must agree)."""
    if distinct.empty:
        return "empty", None, False
    if distinct.str.fullmatch(_TIME).all():
        return "time", None, False
    fitting = [fmt for fmt in DATE_FORMATS if _dates(distinct, fmt) >= DATES]
    if fitting:
        best = max(fitting, key=lambda fmt: _dates(distinct, fmt))
        ambiguous = sum(_dates(distinct, fmt) == _dates(distinct, best) for fmt in fitting) > 1
        return "date", best, ambiguous
    if distinct.str.fullmatch(_INTEGER).all():
        return "integer", None, False
    if distinct.str.fullmatch(_DECIMAL).all():
        return "decimal", None, False
    return "text", None, False


def _dates(values: pd.Series, fmt: str) -> float:
    """The share of the values that are complete dates in `fmt`, with a month and day the
    calendar has (the rest may be partial dates such as UN/06/2021)."""
    parts = values.str.extract(format_regex(fmt, []))
    found = parts.notna().all(axis=1)
    if not found.any():
        return 0.0
    parts = parts[found]
    if "mmm" in fmt:
        month = parts["m"].str.upper().isin(MONTHS)
    else:
        month = pd.to_numeric(parts["m"]).between(1, 12)
    day = pd.to_numeric(parts["d"]).between(1, 31)
    return float((month & day).sum()) / len(values)
