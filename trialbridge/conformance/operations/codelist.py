"""Values outside the variable's codelist (from the SDTMIG metadata) in the terminology in
use: `extensible: no` checks non-extensible codelists, `yes` extensible ones. A result
variable's codelist (--ORRES, --STRESC) holds qualitative results only, so numeric results
(7.4, <0.5) are not held against it. A sponsor term that define.xml declares in the variable's
codelist extends an extensible codelist, as the agencies' validators read it; a non-extensible
one cannot be extended."""

from __future__ import annotations

from trialbridge.conformance.conditions import per_value
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.ct import NUMERIC_RESULT, RESULT_SUFFIXES
from trialbridge.sdtm.define_read import DefinedVariable


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
        defined = _defined(context, variable.name) if wanted else None
        declared = defined.terms if defined is not None and defined.terms else ()
        terms = frozenset(codelist.terms) | frozenset(declared)
        result = variable.name.endswith(RESULT_SUFFIXES)
        outside = per_value(values, lambda v, t=terms, r=result: _outside(v, t, r))
        for listed in defined.by_value if defined else ():
            where = context.frame.get(listed.where)
            if where is not None:
                outside &= ~(where.isin(listed.values) & values.isin(listed.terms))
        found += rows(outside, variable.name, values)
    return found


def _outside(value: str, terms: frozenset[str], result: bool) -> bool:
    """A populated value that is not a term (numbers are not terms of a result codelist)."""
    if not value.strip() or value in terms:
        return False
    return not (result and NUMERIC_RESULT.fullmatch(value))


def _defined(context: Context, variable: str) -> DefinedVariable | None:
    """define.xml's description of the variable: the codelist it declares, on the variable
    and test by test."""
    described = context.defined()
    return described.variable(variable) if described is not None else None
