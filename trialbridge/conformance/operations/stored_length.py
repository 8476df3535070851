"""Text variables stored with more bytes than their longest value needs: the FDA asks for
lengths set to the longest value, to keep files small."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.dataset import char_length


@operation("stored_length")
def stored_length(context: Context) -> list[Issue]:
    source = context.dataset.source
    if source is None:
        return []
    found = []
    for column in source.columns:
        if column.type != "Char" or column.name not in context.frame:
            continue
        longest = char_length(context.frame[column.name])
        if column.length > longest:
            found.append(Issue(None, column.name, f"stored {column.length}, longest {longest}"))
    return found
