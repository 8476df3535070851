"""A dataset file larger than `limit` bytes (the FDA takes files of at most 5 GB; larger ones
must be split)."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation


@operation("file_size")
def file_size(context: Context, limit: str) -> list[Issue]:
    source = context.dataset.source
    if source is None or source.size <= int(limit):
        return []
    return [Issue(None, "(file)", f"{source.name}: {source.size} bytes")]
