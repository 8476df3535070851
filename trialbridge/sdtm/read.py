"""Read a folder of SDTM datasets (XPT v5 or Dataset-JSON) from any source into Datasets.

Each unreadable file is reported on its own (`report`): a run that collects problems lists
every broken file at once; the folder's datasets are returned only when all were read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import pandas as pd

from trialbridge.errors import UserError, checkpoint, report
from trialbridge.sdtm import datasetjson, xpt
from trialbridge.sdtm.dataset import Dataset, SourceFile, Table
from trialbridge.sdtm.lineage import LINEAGE
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, domain_meta, standard_domains
from trialbridge.sdtm.printable import printable

# trialbridge's own files that may sit among the datasets (validate DIR --out DIR)
OWN_FILES = {"validation.json": "trialbridge's validation report"}
DATASET_SUFFIXES = (".xpt", ".json", ".ndjson")
NOT_DATASETS = {"define.json": "not a dataset"}
FIRST_LINE = 1 << 23  # bytes of an NDJSON file's first line read to tell its kind


@dataclass(frozen=True)
class FolderFiles:
    """The dataset files of a folder, and the files of a dataset's type left unread (with
    why), so that a caller can say what it skipped."""

    datasets: list[Path]
    skipped: list[tuple[Path, str]]


def dataset_files(folder: Path) -> FolderFiles:
    """The .xpt files, or when there are none the .json and .ndjson ones (extensions in any
    case). trialbridge's own reports and hidden files (._ae.xpt from a Mac) are never read;
    JSON beside XPT files is left alone, as XPT is read."""
    if folder.is_file():
        raise UserError(
            "a file, not a folder", folder, "give the folder that holds the dataset files"
        )
    if not folder.is_dir():
        raise UserError("SDTM folder not found", folder, "give the folder with the .xpt files")
    xpts, jsons, skipped = [], [], []
    for path in sorted(folder.iterdir()):
        kind = path.suffix.lower()
        if kind not in DATASET_SUFFIXES:
            continue
        why = OWN_FILES.get(path.name) or NOT_DATASETS.get(path.name)
        if why is None and path.name.startswith("."):
            why = "a hidden file"
        if why is not None:
            skipped.append((path, why))
        else:
            (xpts if kind == ".xpt" else jsons).append(path)
    if xpts:
        skipped += [(p, "JSON beside XPT files (the XPT files are read)") for p in jsons]
        return FolderFiles(xpts, sorted(skipped))
    return FolderFiles(jsons, skipped)


def holds_dataset_json_ndjson(folder: Path) -> bool:
    """Whether the folder's .ndjson files are Dataset-JSON (a first line that describes
    columns), as `convert --format ndjson` writes them, rather than FHIR NDJSON."""
    for path in sorted(folder.glob("*.ndjson")):
        if not path.is_file():
            continue
        with path.open("rb") as handle:
            first = handle.readline(FIRST_LINE)
        try:
            head = orjson.loads(first)
        except orjson.JSONDecodeError:
            continue
        if isinstance(head, dict) and "columns" in head and "resourceType" not in head:
            return True
    return False


def read_folder(folder: Path) -> dict[str, Dataset]:
    """Every dataset of the folder (see dataset_files), by dataset name. A file that cannot
    be read, or that holds a dataset another file holds too, is reported."""
    found = dataset_files(folder)
    paths = found.datasets
    if not paths:
        skipped = ", ".join(f"{p.name} ({why})" for p, why in found.skipped)
        what = "no .xpt or Dataset-JSON files" + (f" (skipped: {skipped})" if skipped else "")
        raise UserError(what, folder, "point at an SDTM folder")
    datasets: dict[str, Dataset] = {}
    files: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            report(
                UserError(
                    "a folder, not a dataset file",
                    path,
                    "move it out of the SDTM folder",
                    file=str(path),
                )
            )
            continue
        try:
            xport = path.suffix.lower() == ".xpt"
            table = xpt.read_table(path) if xport else datasetjson.read(path)
        except UserError as error:
            report(error)
            continue
        name = table.name.upper()
        if name in files:
            report(
                UserError(
                    f"holds dataset {printable(name)}, as {printable(files[name].name)} does",
                    path,
                    "keep one file per dataset in the folder",
                    file=str(path),
                )
            )
            continue
        files[name] = path
        source = SourceFile(path.name, path.stat().st_size, tuple(table.columns), table.repeated)
        datasets[name] = dataset_from_table(table, source)
    checkpoint()  # with problems gathered, no caller may go on with some datasets missing
    return datasets


def repeated_names(folder: Path, datasets: dict[str, Dataset]) -> None:
    """Report each dataset whose file repeats a variable name: only the first variable of the
    name was read, so a command that carries the data on (FHIR, a round trip) would drop the
    others. `validate` reports them as findings (TB0155) instead."""
    for dataset in datasets.values():
        source = dataset.source
        if source is None or not source.repeated:
            continue
        names = sorted({printable(c.name) for c in source.repeated})
        shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        report(
            UserError(
                f"the file has more than one variable named {shown} (only the first was read)",
                folder / source.name,
                "rename or drop the repeated variables",
                file=str(folder / source.name),
                column=names[0],
            )
        )
    checkpoint()


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
