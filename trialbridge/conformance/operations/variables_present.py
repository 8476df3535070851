"""Variables the SDTMIG makes Required or Expected for the domain (SUPP-- as SUPPQUAL) but the
dataset lacks."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("variables_present")
def variables_present(context: Context, core: str) -> list[Issue]:
    known = "SUPPQUAL" if context.domain.startswith("SUPP") else context.domain
    meta = standard_domains().get(known)
    if meta is None:
        return []
    return [
        Issue(None, v.name, None)
        for v in meta.variables
        if v.core == core and v.name not in context.frame
    ]
