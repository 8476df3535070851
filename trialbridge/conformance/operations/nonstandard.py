"""Variables neither the domain's SDTMIG table nor the SDTM model allows: sponsor data
belongs in SUPP-- (or the name misspells a standard variable). A variable counts as allowed by
the model when another shipped domain has it (VISITNUM in CM) or has its root under its own
prefix (AEDTC, as LB has LBDTC), so domains the shipped tables lack are not judged."""

from __future__ import annotations

from functools import cache

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("nonstandard")
def nonstandard(context: Context) -> list[Issue]:
    standard = context.standard_variables()
    if not standard or context.domain.startswith("SUPP"):
        return []
    own = {v.name for v in standard}
    names, roots = _model()
    prefix = context.domain
    return [
        Issue(None, n, None)
        for n in context.frame.columns
        if n not in own
        and n not in names
        and not (n.startswith(prefix) and n[len(prefix) :] in roots)
    ]


@cache
def _model() -> tuple[frozenset[str], frozenset[str]]:
    """Variable names without a domain prefix, and the roots of prefixed ones, over every
    general-class domain the shipped SDTMIG tables describe."""
    names, roots = set(), set()
    for domain, meta in standard_domains().items():
        for variable in meta.variables:
            if variable.name.startswith(domain) and len(domain) == 2:
                roots.add(variable.name[2:])
            else:
                names.add(variable.name)
    return frozenset(names), frozenset(roots)
