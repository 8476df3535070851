"""A rule's fixture as Datasets and a define.xml description. Datasets are written as columns
of values in the rule's YAML, typed by the SDTMIG metadata where the domain has some (Num
variables as numbers); `_labels` gives variable labels, `_label` the dataset label and `_file`
the file the dataset came from (name, size, stored types and lengths, and `repeated`: the
names it holds more than once). The top-level `_define` key describes a define.xml: dataset
-> label and variables (label, type, length, mandatory, terms, and `by_value`: value-level
codelists, each `where` a variable, its `values` and the `terms` allowed there)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from trialbridge.sdtm.dataset import Column, Dataset, SourceFile, Table, char_length
from trialbridge.sdtm.define_read import Define, DefinedDataset, DefinedVariable, ValueTerms
from trialbridge.sdtm.metadata import domain_meta, standard_domains
from trialbridge.sdtm.read import dataset_from_table

PSEUDO = ("_labels", "_file", "_label")


def datasets(spec: dict[str, dict[str, Any]]) -> dict[str, Dataset]:
    return {name: _dataset(name, columns) for name, columns in spec.items() if name[0] != "_"}


def define(spec: dict[str, dict[str, Any]]) -> Define | None:
    described = spec.get("_define")
    if described is None:
        return None
    return {name: _defined(name, body) for name, body in described.items()}


def _dataset(name: str, spec: dict[str, Any]) -> Dataset:
    labels = spec.get("_labels", {})
    columns = {k: v for k, v in spec.items() if k not in PSEUDO}
    domain = _domain(name, columns)
    types = {v.name: v.type for v in domain_meta(domain).variables} if domain else {}
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()})
    described = []
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        # a Num variable whose values are not all numbers (a file's type line read as data)
        # stays text, as a Dataset-JSON of the wrong type would hold it
        numeric = (
            types.get(column) == "Num" and numbers.notna().sum() == frame[column].notna().sum()
        )
        if numeric:
            frame[column] = numbers.astype("float64")
        else:
            frame[column] = frame[column].astype("str").where(frame[column].notna())
        kind = "Num" if numeric else "Char"
        length = 8 if numeric else char_length(frame[column])
        label = labels.get(column, "")
        described.append(Column(column, label, kind, length, "double" if numeric else "string"))
    table = Table(name, spec.get("_label", ""), frame, described)
    return dataset_from_table(table, _source(name, spec.get("_file"), described))


def _domain(name: str, columns: dict[str, Any]) -> str | None:
    """The domain whose metadata types the columns: the name, or for a split dataset (LBCH)
    the DOMAIN its records give; None when neither is a domain the SDTMIG describes."""
    if name in standard_domains() or name.startswith("SUPP"):
        return name
    given = {v for v in columns.get("DOMAIN", []) if isinstance(v, str)}
    domain = given.pop() if len(given) == 1 else None
    return domain if domain in standard_domains() else None


def _source(name: str, spec: dict[str, Any] | None, columns: list[Column]) -> SourceFile | None:
    if spec is None:
        return None
    types, lengths = spec.get("types", {}), spec.get("lengths", {})
    stored = tuple(
        Column(
            c.name,
            c.label,
            types.get(c.name, c.type),
            int(lengths.get(c.name, c.length)),
            c.data_type,
        )
        for c in columns
    )
    by_name = {c.name: c for c in stored}
    repeated = tuple(by_name[n] for n in spec.get("repeated", []))
    return SourceFile(
        spec.get("name", f"{name.lower()}.xpt"), int(spec.get("size", 0)), stored, repeated
    )


def _defined(name: str, spec: dict[str, Any]) -> DefinedDataset:
    variables = tuple(
        DefinedVariable(
            name=variable,
            label=body.get("label", ""),
            data_type=body.get("type", "text"),
            length=int(body["length"]) if "length" in body else None,
            mandatory=body.get("mandatory", "No") == "Yes",
            order=order,
            terms=tuple(body["terms"]) if "terms" in body else None,
            by_value=tuple(
                ValueTerms(v["where"], tuple(v["values"]), tuple(v["terms"]))
                for v in body.get("by_value", ())
            ),
        )
        for order, (variable, body) in enumerate(spec.get("variables", {}).items(), 1)
    )
    return DefinedDataset(name, spec.get("label", ""), spec.get("href"), variables)
