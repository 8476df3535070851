"""A file that holds two or more variables of one name. Only the first was read, so every
other check sees that one: one finding per repeated name says so, rather than the many
misleading ones a silent pick would give."""

from __future__ import annotations

from collections import Counter

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("unique_names")
def unique_names(context: Context) -> list[Issue]:
    source = context.dataset.source
    if source is None or not source.repeated:
        return []
    repeats = Counter(c.name for c in source.repeated)
    return [
        Issue(None, name, f"{source.name}: {count + 1} variables named {name}")
        for name, count in sorted(repeats.items())
    ]
