"""The findings as an XLSX workbook laid out as Pinnacle 21 users know it: Dataset Summary,
Issue Summary, Details (the first 1,000 findings of each rule in each dataset, as Pinnacle 21
limits its own) and Rules sheets; against a baseline, Comparison and Resolved sheets too.
Fixed document dates, so same findings, same bytes.

XLSX cannot hold control characters, nor more than 32,767 characters in a cell: such text is
written with \\xNN escapes, cut where too long, and the sheet ends with a note saying so
(validation.json keeps the values as found)."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from trialbridge.conformance.baseline import NEW, RESOLVED, UNCHANGED, Comparison
from trialbridge.conformance.engine import SEVERITIES, Finding
from trialbridge.conformance.rule import shipped_rules
from trialbridge.conformance.sample import positions
from trialbridge.sdtm.write import write_text

EPOCH = datetime(2000, 1, 1)
DETAILS = [
    "Dataset",
    "Record",
    "USUBJID",
    "--SEQ",
    "Variable",
    "Value",
    "Rule",
    "Severity",
    "Message",
]
MAX_CELL = 32_767  # characters Excel holds in a cell
CUT = " ...(cut)"
NOTE = (
    "Note: control characters in this sheet are shown as \\xNN escapes and text longer than"
    f" {MAX_CELL:,} characters is cut, as XLSX cannot hold them; validation.json has the"
    " values as found."
)


def write(
    findings: list[Finding],
    folder: Path,
    datasets: list[str],
    comparison: Comparison | None = None,
) -> Path:
    """The workbook; against a baseline, Details says whether each finding is new or
    unchanged, and Comparison (per rule) and Resolved sheets follow."""
    book = Workbook()
    book.properties.created = book.properties.modified = EPOCH
    _sheet(book.active, "Dataset Summary", ["Dataset", *SEVERITIES], _datasets(findings, datasets))
    _sheet(
        book.create_sheet(),
        "Issue Summary",
        ["Dataset", "Rule", "Pinnacle 21 ID", "Message", "Severity", "Found"],
        _issues(findings),
    )
    changes = comparison.changes if comparison is not None else None
    _sheet(
        book.create_sheet(),
        "Details",
        [*DETAILS, *(["Change"] if changes else [])],
        _details(findings, changes),
    )
    _sheet(
        book.create_sheet(),
        "Rules",
        ["Rule", "Title", "Severity", "P21", "CORE", "CDISC", "FDA", "Message"],
        [
            [
                r.id,
                r.title,
                r.severity,
                " ".join(r.references.p21),
                " ".join(r.references.core),
                " ".join(r.references.cdisc),
                " ".join(r.references.fda),
                r.message,
            ]
            for r in shipped_rules()
        ],
    )
    if comparison is not None:
        _compared(book, comparison)
    buffer = io.BytesIO()
    book.save(buffer)
    return write_text(folder / "validation.xlsx", _fixed_dates(buffer.getvalue()))


def _details(findings: list[Finding], changes: list[str] | None) -> list[list[object]]:
    """The first PER_RULE findings of each rule in each dataset (and each one's change)."""
    rows = []
    for at in positions(findings):
        f = findings[at]
        row = [f.dataset, f.record, f.usubjid, f.seq, f.variable, _text(f.value), f.rule]
        rows.append([*row, f.severity, f.message, *([changes[at]] if changes else [])])
    return rows


def _compared(book: Workbook, comparison: Comparison) -> None:
    counts = comparison.by_rule()
    _sheet(
        book.create_sheet(),
        "Comparison",
        ["Rule", "New", "Unchanged", "Resolved", "Baseline"],
        [
            [rule, tally[NEW], tally[UNCHANGED], tally[RESOLVED], comparison.baseline]
            for rule, tally in counts.items()
        ],
    )
    _sheet(
        book.create_sheet(),
        "Resolved",
        DETAILS,
        [
            [
                f["dataset"],
                f["record"],
                f["usubjid"],
                f["seq"],
                f["variable"],
                _text(f["value"]),
                f["rule"],
                f["severity"],
                f["message"],
            ]
            for f in comparison.resolved
        ],
    )


def _fixed_dates(data: bytes) -> bytes:
    """The same workbook with every date fixed at 2000-01-01 (openpyxl stamps the time)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            fixed = zipfile.ZipInfo(item.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl sets `modified` on save
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", content
                )
            target.writestr(fixed, content)
    return out.getvalue()


def _sheet(sheet, title: str, header: list[str], rows: list[list[object]]) -> None:  # type: ignore[no-untyped-def]
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    altered = False
    for number, row in enumerate(rows, start=2):
        cells = [_cell(value) for value in row]
        altered = altered or any(a is not b for a, b in zip(cells, row, strict=True))
        sheet.append(cells)
        # the row's cells by number: sheet.max_row and a row by index scan every cell of the
        # sheet, which made a sheet of thousands of findings quadratic
        for column in range(1, len(cells) + 1):
            cell = sheet.cell(row=number, column=column)
            if cell.data_type == "f":  # data that starts with '=' is text here, never a formula
                cell.data_type = "s"
    if altered:
        sheet.append([])
        sheet.append([NOTE])
    sheet.freeze_panes = "A2"


def _cell(value: object) -> object:
    """Text XLSX can hold: control characters as \\xNN, at most MAX_CELL characters. The
    same object when nothing had to change."""
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - len(CUT)] + CUT
    return value if text == value else text


def _datasets(findings: list[Finding], datasets: list[str]) -> list[list[object]]:
    counts = Counter((f.dataset, f.severity) for f in findings)
    names = sorted(set(datasets) | {f.dataset for f in findings})
    return [[name or "(submission)", *(counts[(name, s)] for s in SEVERITIES)] for name in names]


def _issues(findings: list[Finding]) -> list[list[object]]:
    rules = {r.id: r for r in shipped_rules()}
    counts = Counter((f.dataset, f.rule) for f in findings)
    first = {(f.dataset, f.rule): f for f in reversed(findings)}
    rows = []
    for (dataset, rule_id), count in sorted(counts.items()):
        finding = first[(dataset, rule_id)]
        p21 = " ".join(rules[rule_id].references.p21) if rule_id in rules else ""
        rows.append(
            [dataset or "(submission)", rule_id, p21, finding.message, finding.severity, count]
        )
    return rows


def _text(value: object) -> object:
    return value if isinstance(value, int | float) or value is None else str(value)
