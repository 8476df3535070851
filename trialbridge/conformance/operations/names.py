"""XPT v5 names: dataset and variable names of 1-8 letters, digits or underscores, starting
with a letter; labels of at most 40 characters."""

from __future__ import annotations

import re

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")


@operation("xpt_names")
def xpt_names(context: Context) -> list[Issue]:
    found = []
    if not _NAME.match(context.dataset.name):
        found.append(Issue(None, "(dataset name)", context.dataset.name))
    found += [Issue(None, name, name) for name in context.frame.columns if not _NAME.match(name)]
    return found


@operation("label_length")
def label_length(context: Context, limit: str = "40") -> list[Issue]:
    most = int(limit)
    found = [Issue(None, v.name, v.label) for v in context.dataset.variables if len(v.label) > most]
    if len(context.dataset.label) > most:
        found.append(Issue(None, "(dataset label)", context.dataset.label))
    return found
