"""A dataset the submission must have (DM, TS)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("dataset_present")
def dataset_present(context: Context, name: str) -> list[Issue]:
    return [] if name in context.datasets else [Issue(None, "(dataset)", name)]
