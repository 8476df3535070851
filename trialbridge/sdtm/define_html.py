"""A human-readable define.html, rendered from the same model as define.xml."""

from __future__ import annotations

from html import escape

from trialbridge.sdtm.define_model import DefineModel, Item, ItemGroup, ItemRef

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 2px solid #336; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #e8ecf4; } td.num { text-align: right; } .ext { color: #a40; }
nav a { margin-right: 1em; }
"""


def render(model: DefineModel) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Define-XML: {escape(model.study_id)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(model.study_id)}: {escape(model.title)}</h1>",
        f"<p>Sponsor: {escape(model.sponsor)}. SDTMIG {escape(model.sdtmig_version)}, "
        f"CDISC CT {escape(model.ct_version)}. Created {model.created:%Y-%m-%dT%H:%M:%S} by "
        f"{escape(model.source_system)}.</p>",
        '<nav><a href="#datasets">Datasets</a><a href="#codelists">Codelists</a>'
        '<a href="#methods">Methods</a><a href="#comments">Comments</a></nav>',
        _datasets(model),
        *(_group(model, g) for g in model.groups),
        _codelists(model),
        _methods(model),
        _comments(model),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _datasets(model: DefineModel) -> str:
    rows = [
        [
            f'<a href="#{g.oid}">{escape(g.name)}</a>',
            escape(g.label),
            escape(g.dataset_class),
            escape(g.structure),
            escape(", ".join(_keys(model, g))),
            f'<a href="{escape(g.href)}">{escape(g.href)}</a>',
            escape(model.comments.get(g.comment_oid or "", "")),
        ]
        for g in model.groups
    ]
    header = ["Dataset", "Description", "Class", "Structure", "Keys", "Location", "Comment"]
    return '<h2 id="datasets">Datasets</h2>' + _table(header, rows)


def _keys(model: DefineModel, group: ItemGroup) -> list[str]:
    keyed = sorted((r for r in group.refs if r.key_sequence), key=lambda r: r.key_sequence or 0)
    return [model.items[r.item_oid].name for r in keyed]


def _group(model: DefineModel, group: ItemGroup) -> str:
    rows = [_variable_row(model, ref, model.items[ref.item_oid]) for ref in group.refs]
    header = ["Variable", "Label", "Type", "Length", "Controlled terms", "Origin", "Role"]
    html = f'<h2 id="{group.oid}">{escape(group.name)}: {escape(group.label)}</h2>'
    html += _table(header, rows)
    for ref in group.refs:
        item = model.items[ref.item_oid]
        if item.value_list_oid:
            html += _value_list(model, item)
    return html


def _variable_row(model: DefineModel, ref: ItemRef, item: Item) -> list[str]:
    codelist = model.codelists.get(item.codelist_oid or "")
    terms = f'<a href="#{codelist.oid}">{escape(codelist.name)}</a>' if codelist else ""
    if item.value_list_oid:
        terms += f' <a href="#{item.value_list_oid}">(value level)</a>'
    return [
        escape(item.name),
        escape(item.label),
        escape(item.data_type),
        str(item.length or ""),
        terms,
        _origin(model, ref, item),
        escape(ref.role or ""),
    ]


def _origin(model: DefineModel, ref: ItemRef, item: Item) -> str:
    text = escape(item.origin)
    if item.origin_description:
        text += f": {escape(item.origin_description)}"
    if ref.method_oid:
        method = model.methods[ref.method_oid]
        text += f'<br><a href="#{method.oid}">{escape(method.name)}</a>'
    return text


def _value_list(model: DefineModel, parent: Item) -> str:
    rows = []
    for ref in model.value_lists[parent.value_list_oid or ""]:
        item = model.items[ref.item_oid]
        clause = model.where_clauses[ref.where_clause_oid or ""]
        where = f"{model.items[clause.item_oid].name} = {', '.join(clause.values)}"
        rows.append(
            [
                escape(where),
                escape(item.label),
                escape(item.data_type),
                str(item.length or ""),
                _origin(model, ref, item),
            ]
        )
    title = f'<h3 id="{parent.value_list_oid}">{escape(parent.name)} by value</h3>'
    return title + _table(["Where", "Label", "Type", "Length", "Origin"], rows)


def _codelists(model: DefineModel) -> str:
    html = '<h2 id="codelists">Codelists</h2>'
    for codelist in model.codelists.values():
        rows = [
            [
                escape(i.value),
                escape(i.nci_code or ""),
                '<span class="ext">sponsor extension</span>' if i.extended else "",
            ]
            for i in codelist.items
        ]
        code = escape(codelist.nci_code or "")
        html += f'<h3 id="{codelist.oid}">{escape(codelist.name)} ({code})</h3>'
        html += _table(["Value", "NCI code", ""], rows)
    return html


def _methods(model: DefineModel) -> str:
    rows = [
        [f'<span id="{m.oid}">{escape(m.name)}</span>', escape(m.description)]
        for m in model.methods.values()
    ]
    return '<h2 id="methods">Methods</h2>' + _table(["Method", "Description"], rows)


def _comments(model: DefineModel) -> str:
    rows = [[escape(oid), escape(text)] for oid, text in model.comments.items()]
    return '<h2 id="comments">Comments</h2>' + _table(["Comment", "Text"], rows)
