"""OUT/lineage, what `trialbridge explain` reads after a convert. `records.arrow`: for each
record of each dataset, in the order its file holds them, the source file, row and column it
came from. `variables.json`: for each dataset's variable, its origin, source and method as
define.xml gives them, and the spec lines that set it (with the source file and melted
column each line applies to)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.define_model import DefineModel
from trialbridge.sdtm.domain_frame import Provenance
from trialbridge.sdtm.lineage import COLUMN, FILE, ROW
from trialbridge.sdtm.write import write_text

FOLDER = "lineage"
RECORDS = "records.arrow"
VARIABLES = "variables.json"


def write(
    out: Path,
    datasets: dict[str, Dataset],
    model: DefineModel,
    provenance: dict[str, dict[str, Provenance]],
) -> list[Path]:
    """Both files under `out`/lineage."""
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    records = folder / RECORDS
    tables = [_records(name, dataset) for name, dataset in datasets.items()]
    # one dictionary per column for the whole file, as the IPC file format holds them
    table = pa.concat_tables(tables or [_SCHEMA.empty_table()]).unify_dictionaries()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with (
        pa.OSFile(str(records), "wb") as sink,
        pa.ipc.new_file(sink, _SCHEMA, options=options) as writer,
    ):
        writer.write_table(table.combine_chunks())
    text = json.dumps(_variables(model, provenance), indent=1, sort_keys=True, ensure_ascii=False)
    return [records, write_text(folder / VARIABLES, (text + "\n").encode("utf-8"))]


_TEXT = pa.dictionary(pa.int32(), pa.string())
_SCHEMA = pa.schema([("dataset", _TEXT), ("file", _TEXT), ("row", pa.int64()), ("column", _TEXT)])


def _records(name: str, dataset: Dataset) -> pa.Table:
    lineage = dataset.lineage
    count = len(dataset.frame)

    def text(column: str) -> pa.Array:
        values = lineage[column] if column in lineage else pd.Series(pd.NA, index=range(count))
        return pa.array(values.astype("string"), pa.string()).dictionary_encode()

    rows = pd.to_numeric(lineage[ROW], errors="coerce") if ROW in lineage else None
    row = pa.array(rows, pa.int64(), from_pandas=True) if rows is not None else pa.nulls(count)
    columns = [pa.repeat(name, count).dictionary_encode(), text(FILE), row, text(COLUMN)]
    return pa.Table.from_arrays(
        [c.cast(t.type) for c, t in zip(columns, _SCHEMA, strict=True)], schema=_SCHEMA
    )


def _variables(
    model: DefineModel, provenance: dict[str, dict[str, Provenance]]
) -> dict[str, dict[str, Any]]:
    """Dataset -> variable -> origin, source, method and spec lines."""
    found: dict[str, dict[str, Any]] = {}
    for group in model.groups:
        variables = found.setdefault(group.name, {})
        for ref in group.refs:
            item = model.items[ref.item_oid]
            method = model.methods.get(ref.method_oid) if ref.method_oid else None
            made = provenance.get(group.name, {}).get(item.name)
            variables[item.name] = {
                "origin": item.origin,
                "source": item.origin_description,
                "method": method.description if method is not None else None,
                "spec": sorted(made.spec) if made is not None else [],
            }
    return found


def read_records(out: Path, dataset: str) -> pd.DataFrame:
    """The lineage of `dataset`'s records, in file order: file, row, column."""
    with pa.memory_map(str(out / FOLDER / RECORDS)) as source:
        table = pa.ipc.open_file(source).read_all()
    frame = table.to_pandas()
    return frame.loc[frame["dataset"] == dataset, ["file", "row", "column"]].reset_index(drop=True)


def read_variables(out: Path) -> dict[str, dict[str, Any]]:
    return json.loads((out / FOLDER / VARIABLES).read_text("utf-8"))
