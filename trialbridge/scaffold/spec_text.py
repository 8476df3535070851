"""The YAML text of a drafted mapping spec: one block per table guessed for the domain, its
columns matched to variables (dates with the format found, coded values recoded to CDISC CT
candidates), and a wide Findings form melted with a test code, name and unit per column."""

from __future__ import annotations

import json
import re

from trialbridge.scaffold.guess import Guess, tokens
from trialbridge.scaffold.profile import SHOWN, ColumnProfile
from trialbridge.sdtm.ct import Codelist, Terminology
from trialbridge.sdtm.metadata import DomainMeta, domain_meta
from trialbridge.yamlio import TODO

_LEGEND = re.compile(r"(\w+)\s*=\s*([^=]+?)(?=\s+\w+\s*=|$)")
_PAREN = re.compile(r"\(([^()]*=[^()]*)\)")
_SPONSOR_CODE = re.compile(r"[A-Z][A-Z0-9]{0,7}")


def spec_text(domain: str, blocks: list[Guess], ct: Terminology) -> str:
    meta = domain_meta(domain)
    files = ", ".join(b.file for b in blocks)
    lines = [
        f"# Drafted by trialbridge init from {files}: check every line; TODO marks what",
        "# the raw files could not tell.",
        f"domain: {domain}",
        "sources:",
    ]
    for block in blocks:
        lines += _block(domain, meta, block, ct)
    return "\n".join(lines) + "\n"


def quoted(text: object) -> str:
    """A YAML scalar that reads back as the same text (JSON's quoting is valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _block(domain: str, meta: DomainMeta, block: Guess, ct: Terminology) -> list[str]:
    lines = [f"  - source: {block.source}"]
    if block.subject is None:
        lines.append(f"    subject: {TODO}  # the column holding the subject number")
    else:
        lines.append(f"    subject: {quoted(block.subject.name)}")
    lines.append("    variables:")
    if domain == "DM" and block.subject is not None:
        lines.append(f"      SUBJID: {{copy: {quoted(block.subject.name)}}}")
    if block.visit is not None and meta.variable("VISIT") is not None:
        lines.append(_visit(block.visit, block.visit_names))
    for variable, column in block.variables.items():
        lines.append(_variable(variable, column, block, meta, ct))
    for topic in _missing_topics(meta, block):
        lines.append(f"      {topic}: {TODO}  # the topic variable: no column found")
    if block.melt:
        lines += [
            f"      {domain}ORRES: {{copy: RESULT}}",
            "    melt:",
            "      value: RESULT",
            "      columns:",
        ]
        lines += [_melted(domain, column, block, ct) for column in block.melt]
    return lines


def _visit(column: ColumnProfile, names: dict[str, str]) -> str:
    """VISIT: the visit codes study.yaml lists, or an EDC's event codes recoded to their
    names."""
    if not names:
        return f"      VISIT: {{copy: {quoted(column.name)}}}  # the codes study.yaml lists"
    pairs = ", ".join(f"{quoted(code)}: {quoted(name)}" for code, name in names.items())
    return f"      VISIT: {{recode: {{column: {quoted(column.name)}, map: {{{pairs}}}}}}}"


def _missing_topics(meta: DomainMeta, block: Guess) -> list[str]:
    """The domain's topic variable when no column gives it (a melt or a long form gives a
    Findings test code)."""
    if block.melt or block.long:
        return []
    written = {*block.variables, "SUBJID"}  # SUBJID: from the subject column, in DM
    return [v.name for v in meta.variables if v.role == "Topic" and v.name not in written]


def _variable(
    variable: str, column: ColumnProfile, block: Guess, meta: DomainMeta, ct: Terminology
) -> str:
    head = f"      {variable}: "
    if variable.endswith("DTC"):
        time = block.times.get(variable)
        parts = [f"column: {quoted(column.name)}", f"format: {column.date_format}"]
        if time is not None:
            parts.append(f"time: {quoted(time.name)}")
        note = (
            "  # TODO check: day and month order (no day above 12 found)"
            if column.ambiguous
            else ""
        )
        return head + "{date: {" + ", ".join(parts) + "}}" + note
    var = meta.variable(variable)
    codelist = ct.get(var.codelist) if var is not None and var.codelist else None
    codes = block.variables.get(f"{variable}CD")
    if variable.endswith("TEST") and codes is not None:  # a local test name is rarely CT's
        return head + _names_from_codes(variable, codes, ct)
    if codelist is None or column.distinct_count > SHOWN or not column.distinct:
        return head + f"{{copy: {quoted(column.name)}}}"
    legend = dict(column.legend) or _legend(column.name)
    pairs = []
    for value in sorted({*column.distinct, *legend}):  # the header's codes too
        term = _term(codelist, legend.get(value, value)) or _term(codelist, value)
        pairs.append(f"{quoted(value)}: {quoted(term) if term else TODO}")
    return (
        head
        + f"{{recode: {{column: {quoted(column.name)}, codelist: {codelist.short_name}, "
        + f"map: {{{', '.join(pairs)}}}}}}}"
    )


def _names_from_codes(variable: str, codes: ColumnProfile, ct: Terminology) -> str:
    """--TEST recoded from the test code column: each code's CT test name (the --TESTCD term
    it stands for, paired with its --TEST term), else the local test name column copied."""
    testcd, test = ct.get(f"{variable}CD"), ct.get(variable)
    if testcd is None or test is None or codes.distinct_count > SHOWN:
        return f"{{copy: {quoted(codes.name)}}}"
    pairs = []
    for value in sorted(codes.distinct):
        code = _term(testcd, value)
        name = _test_name(testcd, test, code) if code else None
        pairs.append(f"{quoted(value)}: {quoted(name) if name else TODO}")
    return (
        f"{{recode: {{column: {quoted(codes.name)}, codelist: {test.short_name}, "
        + f"map: {{{', '.join(pairs)}}}}}}}"
    )


def _legend(header: str) -> dict[str, str]:
    """Codes a header explains: 'Sex (1=Male 2=Female)' -> {'1': 'Male', '2': 'Female'}."""
    found = _PAREN.search(header)
    return dict(_LEGEND.findall(found.group(1))) if found else {}


def _term(codelist: Codelist, value: str) -> str | None:
    """The CT submission value a local value stands for (exact, synonym, case-blind)."""
    return codelist.normalise(value.strip())


def _melted(domain: str, column: ColumnProfile, block: Guess, ct: Terminology) -> str:
    """One melted column: its test code and name from CT where the header names a test
    CT knows, and its unit from the header (or a unit column beside it)."""
    codes, names = ct.get(f"{domain}TESTCD"), ct.get(f"{domain}TEST")
    label = column.label
    code = None
    # an EDC item's name first: its designer's short code (pulse) says more than its question
    named = (column.name, *tokens(column.name)) if column.text else ()
    if codes is not None:
        for candidate in (*named, label, *tokens(label), label.split("_")[0]):
            code = _term(codes, candidate)
            if code:
                break
    if codes is None and _SPONSOR_CODE.fullmatch(column.name.upper()):
        code = column.name.upper()  # no CT codelist: the item's name is a sponsor code
    if (
        code and codes is not None and column.unit == "%"
    ):  # a share of the leukocytes: CT codes it LYMLE, not LYM
        code = _term(codes, f"{code}LE") or code
    name = _test_name(codes, names, code) if code else None
    parts = [f"{domain}TESTCD: {code or TODO}", f"{domain}TEST: {quoted(name) if name else TODO}"]
    if domain_meta(domain).variable(f"{domain}ORRESU") is not None:
        parts.append(f"{domain}ORRESU: {_unit(column, block, ct)}")
    note = f"  # TODO: the {domain}TESTCD and {domain}TEST of '{label}'"
    if code:
        note = "" if name else f"  # TODO: the {domain}TEST of {code}"
    return f"        {quoted(column.name)}: {{{', '.join(parts)}}}{note}"


def _test_name(codes: Codelist | None, names: Codelist | None, code: str) -> str | None:
    """The --TEST term paired with a --TESTCD term (the same NCI code)."""
    if codes is None or names is None:
        return None
    nci = codes.terms.get(code)
    return next((name for name, c in names.terms.items() if c == nci), None)


def _unit(column: ColumnProfile, block: Guess, ct: Terminology) -> str:
    """The unit: a unit column beside it (TEMP_U for TEMP) recoded by CT UNIT, else the unit
    the header names, as a CT UNIT term where it is one."""
    units = ct.get("UNIT")
    beside = next(
        (
            p
            for p in block.profiles
            if "".join(tokens(p.name))
            in {f"{''.join(tokens(column.name))}{s}" for s in ("u", "unit", "units")}
        ),
        None,
    )
    if beside is not None:
        return f"{{recode: {{column: {quoted(beside.name)}, codelist: UNIT}}}}"
    named = column.unit or (column.name.rsplit("_", 1)[1] if "_" in column.name else None)
    if named is None:
        return TODO
    term = _term(units, named) if units is not None else None
    return quoted(term) if term else TODO
