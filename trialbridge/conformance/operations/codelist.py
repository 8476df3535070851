"""Values outside the variable's codelist (from the SDTMIG metadata) in the terminology in
use: `extensible: no` checks non-extensible codelists, `yes` extensible ones. A result
variable's codelist (--ORRES, --STRESC) holds qualitative results only, so numeric results
(7.4, <0.5) are not held against it."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("in_codelist")
def in_codelist(context: Context, extensible: str) -> list[Issue]:
    """`extensible`: "yes" for extensible codelists, "no" for the others."""
    wanted = extensible == "yes"
    found = []
    for variable in context.dataset.variables:
        codelist = context.terminology.get(variable.codelist) if variable.codelist else None
        if codelist is None or codelist.extensible != wanted:
            continue
        values = context.frame[variable.name]
        present = values.notna() & values.astype("str").str.strip().ne("")
        if variable.name.endswith(("ORRES", "STRESC")):
            number = values.astype("str").str.fullmatch(r"\s*[<>]?=?\s*-?\d+(\.\d+)?\s*")
            present &= ~number.fillna(False).astype(bool)
        outside = present & ~values.isin(list(codelist.terms))
        found += rows(outside, variable.name, values)
    return found
