"""The findings as one self-contained HTML page: counts by severity and dataset with a bar
chart, a table of findings to filter by text and severity, and the text and references of
every rule that fired. No external files or scripts, so it opens anywhere, offline."""

from __future__ import annotations

import re
from collections import Counter
from html import escape
from pathlib import Path

from trialbridge.conformance.engine import SEVERITIES, Finding
from trialbridge.conformance.report_json import summary
from trialbridge.conformance.rule import shipped_rules
from trialbridge.conformance.sample import PER_RULE, left_out, sample
from trialbridge.sdtm.write import write_text

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLOURS = {"Reject": "#7f1d1d", "Error": "#dc2626", "Warning": "#d97706", "Notice": "#2563eb"}
STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#111}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f4f6}.n{text-align:right}
.sev{color:#fff;padding:1px 6px;border-radius:3px}input,select{margin:4px 8px 4px 0}"""
SCRIPT = """function filterRows(){const t=document.getElementById('q').value.toLowerCase();
const s=document.getElementById('s').value;let shown=0;
for(const r of document.querySelectorAll('#findings tbody tr')){
const ok=r.textContent.toLowerCase().includes(t)&&(!s||r.dataset.severity===s);
r.style.display=ok?'':'none';if(ok)shown++;}
document.getElementById('shown').textContent=shown;}"""


def write(findings: list[Finding], folder: Path, title: str) -> Path:
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        _counts(findings),
        _chart(findings),
        _summary(findings),
        _findings(findings),
        _rules(findings),
        f"<script>{SCRIPT}</script></body></html>\n",
    ]
    return write_text(folder / "validation.html", "".join(parts).encode())


def _badge(severity: str) -> str:
    return f"<span class='sev' style='background:{COLOURS[severity]}'>{severity}</span>"


def _counts(findings: list[Finding]) -> str:
    by = Counter(f.severity for f in findings)
    cells = "".join(f"<td>{_badge(s)}</td><td class='n'>{by.get(s, 0)}</td>" for s in SEVERITIES)
    return f"<h2>Summary</h2><table><tr>{cells}</tr></table>"


def _chart(findings: list[Finding]) -> str:
    """Findings per dataset, a stacked bar per dataset coloured by severity (inline SVG)."""
    datasets = sorted({f.dataset or "(submission)" for f in findings})
    if not datasets:
        return "<p>No findings.</p>"
    counts = Counter((f.dataset or "(submission)", f.severity) for f in findings)
    most = max(sum(counts[(d, s)] for s in SEVERITIES) for d in datasets)
    bars = []
    for row, dataset in enumerate(datasets):
        y, x = 24 * row + 4, 110
        bars.append(f"<text x='0' y='{y + 14}'>{escape(dataset)}</text>")
        for severity in SEVERITIES:
            width = 500 * counts[(dataset, severity)] / most
            if width:
                bars.append(
                    f"<rect x='{x:.1f}' y='{y}' width='{width:.1f}' height='18' "
                    f"fill='{COLOURS[severity]}'><title>{escape(dataset)} {severity}: "
                    f"{counts[(dataset, severity)]}</title></rect>"
                )
                x += width
    height = 24 * len(datasets) + 8
    return (
        f"<h2>Findings by dataset</h2><svg role='img' width='640' height='{height}' "
        f"xmlns='http://www.w3.org/2000/svg' font-size='12'>{''.join(bars)}</svg>"
    )


def _summary(findings: list[Finding]) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(r['rule']))}</td><td>{_badge(str(r['severity']))}</td>"
        f"<td class='n'>{r['count']}</td><td>{escape(str(r['message']))}</td></tr>"
        for r in summary(findings)
    )
    head = "<tr><th>rule</th><th>severity</th><th>count</th><th>message</th></tr>"
    return f"<h2>Rules that fired</h2><table>{head}{rows}</table>"


def _findings(findings: list[Finding]) -> str:
    shown, hidden = sample(findings), left_out(findings)
    options = "".join(f"<option>{s}</option>" for s in SEVERITIES)
    controls = (
        "<h2>Findings</h2><input id='q' placeholder='filter: dataset, subject, value...' "
        "oninput='filterRows()' size='40'><select id='s' onchange='filterRows()'>"
        f"<option value=''>all severities</option>{options}</select>"
        f"<span id='shown'>{len(shown)}</span> shown"
        + (
            f"<p>The first {PER_RULE:,} findings of each rule in each dataset are listed here"
            f" ({hidden:,} more are in validation.json).</p>"
            if hidden
            else ""
        )
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("rule", "severity", "dataset", "record", "USUBJID", "--SEQ", "variable", "value")
    )
    rows = []
    for f in sorted(shown, key=lambda f: SEVERITIES.index(f.severity)):  # worst first
        seq = "" if f.seq is None else f"{f.seq:g}"
        dataset = f.dataset or "(submission)"
        cells = (f.rule, dataset, f.record or "", f.usubjid or "", seq, f.variable)
        rows.append(
            f"<tr data-severity='{f.severity}'><td>{escape(str(cells[0]))}</td>"
            f"<td>{_badge(f.severity)}</td>"
            + "".join(f"<td>{escape(str(c))}</td>" for c in cells[1:])
            + f"<td>{escape(_shown(f.value))}</td></tr>"
        )
    table = f"<table id='findings'><thead><tr>{header}</tr></thead>"
    return f"{controls}{table}<tbody>{''.join(rows)}</tbody></table>"


def _shown(value: object) -> str:
    """A value as the data manager wrote it: 1 for the number 1.0, nothing for missing,
    control characters (which a page would not show) as \\xNN."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _rules(findings: list[Finding]) -> str:
    rules = {r.id: r for r in shipped_rules()}
    items = []
    for rule_id in sorted({f.rule for f in findings}):
        rule = rules.get(rule_id)
        if rule is None:
            continue
        refs = rule.references
        cited = ", ".join(refs.p21 + refs.core + refs.cdisc + refs.fda) or "trialbridge only"
        items.append(
            f"<dt><b>{rule.id}</b> {escape(rule.title)} ({rule.severity})</dt>"
            f"<dd>{escape(rule.message)}<br>Same check: {escape(cited)}</dd>"
        )
    return f"<h2>Rules</h2><dl>{''.join(items)}</dl>"
