"""Records with no value in a variable define.xml marks Mandatory="Yes"."""

from __future__ import annotations

from trialbridge.conformance.conditions import populated
from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation


@operation("define_mandatory")
def define_mandatory(context: Context) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    found = []
    for defined in described.variables:
        values = context.frame.get(defined.name)
        if values is not None and defined.mandatory:
            found += rows(~populated(values), defined.name)
    return found
