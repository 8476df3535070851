"""Read a folder of SDTM datasets (XPT v5 or Dataset-JSON) from any source into Datasets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialbridge.converters.sources import LINEAGE
from trialbridge.errors import UserError
from trialbridge.sdtm import datasetjson, xpt
from trialbridge.sdtm.dataset import Dataset, SourceFile, Table
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, domain_meta, standard_domains


def read_folder(folder: Path) -> dict[str, Dataset]:
    """Every *.xpt (else *.json / *.ndjson) dataset in the folder, by dataset name."""
    if not folder.is_dir():
        raise UserError("SDTM folder not found", folder, "give the folder with the .xpt files")
    paths = sorted(folder.glob("*.xpt"))
    if paths:
        tables = [xpt.read_table(p) for p in paths]
    else:
        paths = sorted(p for p in folder.glob("*.json") if p.name != "define.json")
        paths += sorted(folder.glob("*.ndjson"))
        tables = [datasetjson.read(p) for p in paths]
    if not tables:
        raise UserError("no .xpt or Dataset-JSON files", folder, "point at an SDTM folder")
    return {
        t.name.upper(): dataset_from_table(
            t, SourceFile(p.name, p.stat().st_size, tuple(t.columns))
        )
        for t, p in zip(tables, paths, strict=True)
    }


def dataset_from_table(table: Table, source: SourceFile | None = None) -> Dataset:
    """The table with SDTMIG metadata where the domain has some; other variables keep the
    file's own label and type."""
    name = table.name.upper()
    known = name in standard_domains() or name.startswith("SUPP")
    meta = (
        domain_meta(name)
        if known
        else DomainMeta(
            domain=name, label=table.label, dataset_class="", structure="", keys=(), variables=()
        )
    )
    variables = []
    for order, column in enumerate(table.columns, 1):
        found = meta.variable(column.name)
        variables.append(
            found.model_copy(update={"label": column.label or found.label})
            if found is not None
            else VariableMeta(
                domain=name,
                order=order,
                name=column.name,
                label=column.label,
                type="Num" if column.type == "Num" else "Char",
                codelist=None,
                format=None,
                role="",
                core="Perm",
            )
        )
    lineage = pd.DataFrame(index=table.frame.index, columns=list(LINEAGE))
    return Dataset(
        name=name,
        label=table.label,
        meta=meta,
        variables=variables,
        frame=table.frame,
        lineage=lineage,
        source=source,
    )
