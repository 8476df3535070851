"""The reference tables docs/reference.md lists, made from the shipped data so the two cannot
drift apart (tests/sdtm/test_reference_tables.py keeps them equal): every SDTMIG dataset with
its class and what builds it, and every codelist of the shipped CT subset."""

from __future__ import annotations

from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.metadata import standard_domains

# how a dataset of no subject is made (the rest are mapped by a spec)
_BUILT = {
    "EX": "a mapping spec (`domain: EX`), or EC where its spec says `derive_ex: true`",
    "TS": "study.yaml `trial_summary` and the data",
    "TA": "study.yaml `arms`, `elements`",
    "TE": "study.yaml `elements`",
    "TV": "study.yaml `visits`",
    "TI": "study.yaml `criteria`",
    "TD": "study.yaml `study_datasets`",
    "TM": "study.yaml `study_datasets`",
    "OI": "study.yaml `study_datasets`",
    "SE": "the subjects' reference dates and the arms' elements",
    "SV": "the subjects' visits found in the mapped domains",
    "SUPPQUAL": "`supplemental` in a spec (as SUPP--)",
    "RELREC": "`relationships` in a spec",
}


def domain_table() -> str:
    """Markdown: each SDTMIG dataset, its label, class and how trialbridge makes it."""
    lines = ["| Dataset | Label | Class | Made from |", "| --- | --- | --- | --- |"]
    for code, meta in standard_domains().items():
        made = _BUILT.get(code, "a mapping spec (`domain: " + code + "`)")
        lines.append(f"| {code} | {meta.label} | {meta.dataset_class} | {made} |")
    return "\n".join(lines) + "\n"


def codelist_table() -> str:
    """Markdown: each codelist of the shipped CT subset, with its code, name, extensibility
    and number of terms."""
    ct = shipped_terminology()
    lines = [
        f"CDISC CT {ct.version}, {len(ct.codelists)} codelists.",
        "",
        "| Codelist | Code | Name | Extensible | Terms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for short, codelist in sorted(ct.codelists.items()):
        extensible = "Yes" if codelist.extensible else "No"
        lines.append(
            f"| {short} | {codelist.code} | {codelist.name} | {extensible} | "
            f"{len(codelist.terms)} |"
        )
    return "\n".join(lines) + "\n"
