"""Which reader a source needs, and which sources share one EDC export (read once)."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.odm import read_odm
from trialbridge.converters.redcap import read_redcap
from trialbridge.converters.sources import read_source
from trialbridge.errors import checkpoint, problem_count
from trialbridge.study import Source, StudyFolder


def read_tables(folder: StudyFolder, source: Source) -> dict[str, pd.DataFrame]:
    """The source's table; for an EDC export, the tables of every source reading it."""
    if source.kind in ("csv", "xlsx"):
        return {source.name: read_source(folder.source_path(source), source, source.file)}
    shared = [s for s in folder.study.sources if _same_export(s, source)]
    root = folder.path_of("sources", ".")
    reader = read_odm if source.kind == "odm" else read_redcap
    before = problem_count()
    tables = reader(root, shared)
    # the export's values were checked against its own metadata: a misfit would be reported
    # again, in other words, by the mapping of every spec that reads it; so stop here when
    # this export had problems (and only then: other files' problems do not stop its reading)
    if problem_count() > before:
        checkpoint()
    return tables


def _same_export(one: Source, other: Source) -> bool:
    fields = ("kind", "file", "metadata", "dictionary", "events", "encoding", "missing")
    return all(getattr(one, f) == getattr(other, f) for f in fields)
