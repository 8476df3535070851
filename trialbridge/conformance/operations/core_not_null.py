"""Records missing a value in a variable the SDTMIG makes Required for the domain."""

from __future__ import annotations

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("required_not_null")
def required_not_null(context: Context) -> list[Issue]:
    meta = standard_domains().get(context.domain)
    found: list[Issue] = []
    for variable in meta.variables if meta else ():
        if variable.core == "Req" and variable.name in context.frame:
            found += rows(~populated(context.frame[variable.name]), variable.name)
    return found
