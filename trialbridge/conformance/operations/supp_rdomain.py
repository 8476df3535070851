"""SUPP-- records whose RDOMAIN is not the domain the dataset's name carries (SUPPAE holds
RDOMAIN AE only, SUPPLBCH of the split dataset LBCH holds LB, never LBCH; the pooled
SUPPQUAL may hold any). A missing RDOMAIN is the required-variable rule's finding."""

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
    # SDTMIG 4.1.7: RDOMAIN is the two-letter domain code, also for a split dataset's SUPP--
    allowed = domain_of(parent) if parent is not None else name[:2]
    return rows(values.ne(allowed) & values.notna(), "RDOMAIN", values)
