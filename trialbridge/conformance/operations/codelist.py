"""Values outside the variable's codelist (from the SDTMIG metadata) in the terminology in
use: `extensible: no` checks non-extensible codelists, `yes` extensible ones. A result
variable's codelist (--ORRES, --STRESC) holds qualitative results only, so numeric results
(7.4, <0.5) are not held against it."""

from __future__ import annotations

import re

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation

_NUMBER = re.compile(r"\s*[<>]?=?\s*-?\d+(\.\d+)?\s*")


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
        terms = frozenset(codelist.terms)
        result = variable.name.endswith(("ORRES", "STRESC"))
        outside = per_value(values, lambda v, t=terms, r=result: _outside(v, t, r))
        found += rows(outside, variable.name, values)
    return found


def _outside(value: str, terms: frozenset[str], result: bool) -> bool:
    """A populated value that is not a term (numbers are not terms of a result codelist)."""
    if not value.strip() or value in terms:
        return False
    return not (result and _NUMBER.fullmatch(value))
