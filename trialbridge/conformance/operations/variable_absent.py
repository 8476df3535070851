"""Variables that must not be in the dataset at all: SENDIG-only variables (FETUSID, --USCHFL,
--DETECT...) and those the SDTMIG rules out for a domain or class (AEOCCUR, --STDTC in
Findings). A dataset-level finding for each such column the dataset has, whatever its values:
an empty column is still a variable the SDTMIG does not allow."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("variable_absent")
def variable_absent(context: Context, variables: list[str]) -> list[Issue]:
    names = dict.fromkeys(context.name(v) for v in variables)  # in order, once each
    return [Issue(None, name, None) for name in names if name in context.frame.columns]
