"""CDISC Dataset-JSON 1.1: write and read (datasetjson_read.py), as one JSON document or as
NDJSON (first line the metadata, then one line per row)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from trialbridge import __version__
from trialbridge.sdtm import json_text
from trialbridge.sdtm.dataset import Column, Table
from trialbridge.sdtm.datasetjson_read import read
from trialbridge.sdtm.write import write_text

VERSION = "1.1.0"


@dataclass(frozen=True)
class FileContext:
    """What a file says about where it comes from (the same for every dataset of a study)."""

    study_id: str
    originator: str
    created: datetime
    define: str = "define.xml"

    @property
    def study_oid(self) -> str:
        return f"STUDY.{self.study_id}"

    @property
    def metadata_version_oid(self) -> str:
        return f"MDV.{self.study_id}"


def item_group_oid(name: str) -> str:
    return f"IG.{name}"


def item_oid(dataset: str, variable: str) -> str:
    return f"IT.{dataset}.{variable}"


def metadata(table: Table, context: FileContext) -> dict[str, Any]:
    """The top-level object without rows, in the order the standard lists the attributes."""
    return {
        "datasetJSONCreationDateTime": context.created.strftime("%Y-%m-%dT%H:%M:%S"),
        "datasetJSONVersion": VERSION,
        "fileOID": f"{context.study_oid}.{table.name}",
        "originator": context.originator,
        "sourceSystem": {"name": "trialbridge", "version": __version__},
        "studyOID": context.study_oid,
        "metaDataVersionOID": context.metadata_version_oid,
        "metaDataRef": context.define,
        "itemGroupOID": item_group_oid(table.name),
        "records": len(table.frame),
        "name": table.name,
        "label": table.label,
        "columns": [_column(table.name, c) for c in table.columns],
    }


def _column(dataset: str, column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {
        "itemOID": item_oid(dataset, column.name),
        "name": column.name,
        "label": column.label,
        "dataType": column.data_type,
        "length": column.length,
    }
    if column.key_sequence is not None:
        out["keySequence"] = column.key_sequence
    return out


def rows(table: Table, separator: str = ",") -> bytes:
    """The rows as JSON array text, separated by `separator`: text as strings, integers as
    ints, doubles as the shortest text that reads back as the same double, missing as null.
    Built column-wise."""
    columns = []
    for column in table.columns:
        values = table.frame[column.name]
        if column.type == "Char":
            columns.append(json_text.text_column(values))
        else:
            columns.append(json_text.number_column(values, column.data_type == "integer"))
    return json_text.rows(columns, len(table.frame), separator)


def write(table: Table, folder: Path, context: FileContext, ndjson: bool = False) -> Path:
    """`<name>.json` (or `.ndjson`), written to a temporary file and renamed into place."""
    suffix = ".ndjson" if ndjson else ".json"
    target = folder / f"{table.name.lower()}{suffix}"
    head = json.dumps(metadata(table, context), separators=(",", ":"), ensure_ascii=False)
    if ndjson:
        body = rows(table, "\n")
        text = head.encode() + b"\n" + body + (b"\n" if body else b"")
    else:
        text = head[:-1].encode() + b',"rows":[' + rows(table) + b"]}\n"
    return write_text(target, text)


__all__ = ["FileContext", "metadata", "read", "rows", "write"]
