"""Datasets that define.xml describes but the submission lacks (checked once)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_files")
def define_files(context: Context) -> list[Issue]:
    if context.define is None:
        return []
    return [Issue(None, "(dataset)", n) for n in context.define if n not in context.datasets]
