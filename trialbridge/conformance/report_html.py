"""The findings as one self-contained HTML page a reviewer works from: counts by severity and
dataset with a bar chart, the rules that fired (counts, what each checks and its ids, a link
to its findings), and the findings as pages of PAGE rows, filtered by text, severity, rule,
dataset and (against a baseline) change. The findings travel as JSON inside the page and the
rows of one page are drawn at a time, so 100,000 findings open and filter at once. No external
files or scripts: it opens anywhere, offline."""

from __future__ import annotations

import re
from collections import Counter
from html import escape
from pathlib import Path

import orjson

from trialbridge.conformance.baseline import NEW, RESOLVED, UNCHANGED, Comparison
from trialbridge.conformance.engine import SEVERITIES, Finding
from trialbridge.conformance.report_json import summary
from trialbridge.conformance.rule import Rule, shipped_rules
from trialbridge.conformance.sample import PER_RULE, left_out, positions
from trialbridge.sdtm.write import write_text

ALL_UP_TO = 200_000  # findings the page holds whole; beyond, PER_RULE of each rule and dataset
PAGE = 100  # rows drawn at a time
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COLOURS = {"Reject": "#7f1d1d", "Error": "#dc2626", "Warning": "#d97706", "Notice": "#2563eb"}
STYLE = """body{font:14px system-ui,sans-serif;margin:24px;color:#111}
table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f4f6}.n{text-align:right}
.sev{color:#fff;padding:1px 6px;border-radius:3px}input,select,button{margin:4px 8px 4px 0}
.ids{color:#555;font-size:12px}"""
SCRIPT = """const D=JSON.parse(document.getElementById('data').textContent);
const F=D.findings,S=D.severities,C=D.colours,PAGE=D.page;
const lower=F.map(f=>f.join('\\u0001').toLowerCase());
let hits=[],at=0;const $=id=>document.getElementById(id);
function esc(t){return String(t).replace(/[&<>"']/g,c=>'&#'+c.charCodeAt(0)+';')}
function filterRows(){const q=$('q').value.toLowerCase(),s=$('s').value,r=$('r').value,
d=$('d').value,c=$('c')?$('c').value:'';hits=[];
for(let i=0;i<F.length;i++){const f=F[i];
if((s&&f[1]!==s)||(r&&f[0]!==r)||(d&&f[2]!==d)||(c&&f[8]!==c))continue;
if(q&&!lower[i].includes(q))continue;hits.push(i);}
at=0;draw();}
function draw(){const rows=[];for(const i of hits.slice(at,at+PAGE)){const f=F[i];
rows.push('<tr data-severity="'+f[1]+'"><td><a href="#rule-'+f[0]+'">'+f[0]+'</a></td>'+
'<td><span class="sev" style="background:'+C[f[1]]+'">'+f[1]+'</span></td>'+
f.slice(2,D.columns).map(v=>'<td>'+esc(v)+'</td>').join('')+'</tr>');}
$('rows').innerHTML=rows.join('');$('shown').textContent=hits.length;
const pages=Math.max(1,Math.ceil(hits.length/PAGE));
$('page').textContent='page '+(Math.floor(at/PAGE)+1)+' of '+pages;
$('prev').disabled=at===0;$('next').disabled=at+PAGE>=hits.length;}
function turn(by){at=Math.max(0,Math.min(at+by*PAGE,(Math.ceil(hits.length/PAGE)-1)*PAGE));
draw();}
function only(rule){$('r').value=rule;$('q').value='';$('s').value='';$('d').value='';
if($('c'))$('c').value='';filterRows();$('findings').scrollIntoView();return false;}
filterRows();"""


def write(
    findings: list[Finding], folder: Path, title: str, comparison: Comparison | None = None
) -> Path:
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        _counts(findings),
        _compared(comparison),
        _chart(findings),
        _rules(findings, comparison),
        _findings(findings, comparison),
        _resolved(comparison),
        f"<script>{SCRIPT}</script></body></html>\n",
    ]
    return write_text(folder / "validation.html", "".join(parts).encode())


def _badge(severity: str) -> str:
    return f"<span class='sev' style='background:{COLOURS[severity]}'>{severity}</span>"


def _counts(findings: list[Finding]) -> str:
    by = Counter(f.severity for f in findings)
    cells = "".join(f"<td>{_badge(s)}</td><td class='n'>{by.get(s, 0)}</td>" for s in SEVERITIES)
    return f"<h2>Summary</h2><table><tr>{cells}</tr></table>"


def _compared(comparison: Comparison | None) -> str:
    if comparison is None:
        return ""
    counts = comparison.counts()
    cells = "".join(f"<td>{kind}</td><td class='n'>{counts[kind]:,}</td>" for kind in counts)
    return (
        f"<p id='baseline'>Compared with <code>{escape(comparison.baseline)}</code>:</p>"
        f"<table><tr>{cells}</tr></table>"
    )


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


def _rules(findings: list[Finding], comparison: Comparison | None) -> str:
    """One row per rule that fired (or, against a baseline, whose findings were resolved):
    severity, counts, what it checks, its ids, and a link that shows only its findings."""
    rules = {r.id: r for r in shipped_rules()}
    changes = comparison.by_rule() if comparison is not None else {}
    fired = {str(r["rule"]): r for r in summary(findings)}
    order = list(fired) + sorted(set(changes) - set(fired))
    extra = "".join(f"<th>{kind}</th>" for kind in (NEW, UNCHANGED, RESOLVED) if comparison)
    head = f"<tr><th>rule</th><th>severity</th><th>findings</th>{extra}<th>what it checks</th></tr>"
    rows = []
    for rule_id in order:
        row = fired.get(rule_id)
        rule = rules.get(rule_id)
        severity = str(row["severity"]) if row else (rule.severity if rule else "Notice")
        count = int(row["count"]) if row else 0  # type: ignore[call-overload]
        tally = changes.get(rule_id, {})
        counted = "".join(
            f"<td class='n'>{tally.get(kind, 0):,}</td>"
            for kind in (NEW, UNCHANGED, RESOLVED)
            if comparison
        )
        link = (
            f"<a href='#findings' data-rule='{escape(rule_id)}' "
            f"onclick='return only(this.dataset.rule)'>{count:,}</a>"
            if count
            else "0"
        )
        message = str(row["message"]) if row else (rule.message if rule else "")
        rows.append(
            f"<tr id='rule-{escape(rule_id)}'><td>{escape(rule_id)}</td><td>{_badge(severity)}"
            f"</td><td class='n'>{link}</td>{counted}<td>{_explained(rule, message)}</td></tr>"
        )
    return f"<h2>Rules that fired</h2><table>{head}{''.join(rows)}</table>"


def _explained(rule: Rule | None, message: str) -> str:
    if rule is None:
        return escape(message)
    refs = rule.references
    cited = " ".join(refs.p21 + refs.core + refs.cdisc + refs.fda) or "trialbridge only"
    return (
        f"<b>{escape(rule.title)}</b><br>{escape(message)}"
        f"<br><span class='ids'>same check: {escape(cited)}</span>"
    )


def _findings(findings: list[Finding], comparison: Comparison | None) -> str:
    whole = len(findings) <= ALL_UP_TO
    changes = comparison.changes if comparison is not None else [""] * len(findings)
    paired = list(zip(findings, changes, strict=True))
    kept = paired if whole else [paired[at] for at in positions(findings)]
    hidden = 0 if whole else left_out(findings)
    kept.sort(key=lambda pair: SEVERITIES.index(pair[0].severity))  # worst first, stable
    data = {
        "severities": list(SEVERITIES),
        "colours": COLOURS,
        "page": PAGE,
        "columns": 9 if comparison else 8,
        "findings": [_row(f, change) for f, change in kept],
    }
    payload = orjson.dumps(data).replace(b"</", b"<\\/").decode()
    names = ("rule", "severity", "dataset", "record", "USUBJID", "--SEQ", "variable", "value")
    header = "".join(f"<th>{h}</th>" for h in names + (("change",) if comparison else ()))
    rule_ids = sorted({f.rule for f, _ in kept})
    datasets = sorted({f.dataset or "(submission)" for f, _ in kept})
    controls = (
        "<h2>Findings</h2>"
        "<input id='q' placeholder='filter: subject, variable, value...' "
        "oninput='filterRows()' size='40'>"
        + _select("s", "all severities", list(SEVERITIES))
        + _select("r", "all rules", rule_ids)
        + _select("d", "all datasets", datasets)
        + (_select("c", "new and unchanged", [NEW, UNCHANGED]) if comparison else "")
        + "<span id='shown'></span> shown "
        "<button id='prev' onclick='turn(-1)'>previous</button><span id='page'></span>"
        "<button id='next' onclick='turn(1)'>next</button>"
        + (
            f"<p>The first {PER_RULE:,} findings of each rule in each dataset are listed here"
            f" ({hidden:,} more are in validation.json).</p>"
            if hidden
            else ""
        )
    )
    table = (
        f"<table id='findings'><thead><tr>{header}</tr></thead><tbody id='rows'></tbody></table>"
    )
    data_block = f"<script type='application/json' id='data'>{payload}</script>"
    return f"{controls}{table}</table>{data_block}"


def _row(f: Finding, change: str) -> list[object]:
    seq = "" if f.seq is None else f"{f.seq:g}"
    dataset = f.dataset or "(submission)"
    cells = [f.rule, f.severity, dataset, f.record or "", f.usubjid or "", seq, f.variable]
    return [*cells, _shown(f.value), change]


def _select(name: str, everything: str, values: list[str]) -> str:
    options = "".join(f"<option>{escape(v)}</option>" for v in values)
    return (
        f"<select id='{name}' onchange='filterRows()'><option value=''>{everything}</option>"
        f"{options}</select>"
    )


def _resolved(comparison: Comparison | None) -> str:
    """The baseline's findings that are gone (the first PER_RULE of each rule and dataset)."""
    if comparison is None or not comparison.resolved:
        return ""
    seen: Counter[tuple[str, str]] = Counter()
    rows = []
    for f in comparison.resolved:
        key = (str(f["rule"]), str(f["dataset"]))
        seen[key] += 1
        if seen[key] > PER_RULE:
            continue
        cells = (f["rule"], f["dataset"] or "(submission)", f["record"], f["usubjid"])
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(_shown(c))}</td>" for c in cells)
            + f"<td>{escape(_shown(f['seq']))}</td><td>{escape(str(f['variable']))}</td>"
            + f"<td>{escape(_shown(f['value']))}</td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("rule", "dataset", "record", "USUBJID", "--SEQ", "variable", "value")
    )
    return (
        f"<h2 id='resolved'>Resolved since the baseline ({len(comparison.resolved):,})</h2>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _shown(value: object) -> str:
    """A value as the data manager wrote it: 1 for the number 1.0, nothing for missing,
    control characters (which a page would not show) as \\xNN."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:.0f}"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
