"""Labels that differ from their define.xml description: each variable's (`of: variable`) or
the dataset's (`of: dataset`). Compared exactly, spaces and case included."""

from __future__ import annotations

from typing import Literal

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("define_label")
def define_label(context: Context, of: Literal["variable", "dataset"]) -> list[Issue]:
    described = context.defined()
    if described is None:
        return []
    if of == "dataset":
        same = described.label == context.dataset.label
        return [] if same else [Issue(None, "(dataset label)", context.dataset.label)]
    found = []
    for variable in context.dataset.variables:
        defined = described.variable(variable.name)
        if defined is not None and defined.label != variable.label:
            found.append(Issue(None, variable.name, variable.label))
    return found
