"""A dataset that define.xml does not describe."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_dataset")
def define_dataset(context: Context) -> list[Issue]:
    if context.define is None or context.dataset.name in context.define:
        return []
    return [Issue(None, "(dataset)", context.dataset.name)]
