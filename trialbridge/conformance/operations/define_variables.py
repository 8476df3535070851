"""Variables in the dataset that define.xml does not list for it (`missing_from: define`), or
listed in define.xml but absent from the dataset (`missing_from: dataset`)."""

from __future__ import annotations

from typing import Literal

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_variables")
def define_variables(context: Context, missing_from: Literal["define", "dataset"]) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    listed = [v.name for v in described.variables]
    if missing_from == "define":
        return [Issue(None, n, None) for n in context.frame.columns if n not in listed]
    return [Issue(None, n, None) for n in listed if n not in context.frame]
