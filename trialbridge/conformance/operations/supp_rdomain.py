"""SUPP-- records whose RDOMAIN is not the domain the dataset's name carries (SUPPAE holds
RDOMAIN AE only, SUPPLBCH of the split dataset LBCH holds LB; the pooled SUPPQUAL may hold
any)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue, rows
from trialbridge.conformance.operations import operation
from trialbridge.fhir.build import domain_of


@operation("supp_rdomain")
def supp_rdomain(context: Context) -> list[Issue]:
    values = context.frame.get("RDOMAIN")
    if values is None or context.dataset.name == "SUPPQUAL":
        return []
    name = context.dataset.name[4:]
    parent = context.datasets.get(name)
    allowed = {name} | ({domain_of(parent)} if parent is not None else set())
    return rows(~values.isin(allowed), "RDOMAIN", values)
