"""The submission has a define.xml beside its datasets."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_present")
def define_present(context: Context) -> list[Issue]:
    return [Issue(None, "define.xml", None)] if context.define is None else []
