"""A dataset file not named after its dataset in lower case (ae.xpt for AE), as the FDA's
eCTD rules ask."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation

KINDS = ("xpt", "json", "ndjson")


@operation("file_name")
def file_name(context: Context) -> list[Issue]:
    source = context.dataset.source
    if source is None:
        return []
    allowed = {f"{context.dataset.name.lower()}.{kind}" for kind in KINDS}
    return [] if source.name in allowed else [Issue(None, "(file)", source.name)]
