"""Grouped tables: several SDTM records in one resource (TS in ResearchStudy, a subject's DS
records in ResearchSubject). Records travel whole in sdtm-record extensions."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.fhir.codecs import place_datetime
from trialbridge.fhir.paths import set_path
from trialbridge.fhir.table import SDTM_RECORD, Summary, Table

ORDER = "order"  # the record's position in its dataset, so parsing keeps the order


Records = list[tuple[int, dict[str, Any]]]  # (position in the dataset, populated variables)


def groups(frame: pd.DataFrame, spec: Table) -> list[Records]:
    """The records of each resource, as plain dicts of their populated variables (a subject's
    handful of DS records is read many times over: dicts, not a pandas frame per group)."""
    frame = frame.reset_index(drop=True)
    columns = {name: frame[name].tolist() for name in frame.columns}
    rows = [
        {name: values[row] for name, values in columns.items() if _present(values[row])}
        for row in range(len(frame))
    ]
    if not spec.group_by:
        return [list(enumerate(rows))]
    found = frame.groupby(spec.group_by, sort=False, dropna=False).indices
    return [[(int(i), rows[i]) for i in positions] for positions in found.values()]


def _present(value: Any) -> bool:
    """Not None, NaN or pandas' NA."""
    return value is not None and value is not pd.NA and value == value


def record_extensions(group: Records, numeric: set[str]) -> list[dict[str, Any]]:
    """One sdtm-record extension per record: its position in the dataset (`order`), then its
    populated variables as parts."""
    out = []
    for position, row in group:
        parts: list[dict[str, Any]] = [{"url": ORDER, "valueInteger": position + 1}]
        parts += [
            {"url": name, "valueDecimal": float(value)}
            if name in numeric
            else {"url": name, "valueString": str(value)}
            for name, value in row.items()
        ]
        out.append({"url": SDTM_RECORD, "extension": parts})
    return out


def fill(resource: dict[str, Any], spec: Table, group: Records) -> None:
    """Fixed values, then the summary elements from the matching records."""
    for path, value in spec.fixed.items():
        set_path(resource, path, copy.deepcopy(value))
    for summary in spec.summary:
        _summary(resource, summary, group, spec.domain)


def _summary(resource: dict[str, Any], summary: Summary, group: Records, domain: str) -> None:
    rows = [
        row
        for _, row in group
        if all(row.get(variable) == wanted for variable, wanted in summary.where.items())
    ]
    values: list[Any] = [row[summary.value] for row in rows if summary.value in row]
    if summary.present is not None:
        values = [summary.present] if values else []
    elif summary.codec in ("map", "boolean"):
        values = [summary.map.get(v, summary.otherwise) for v in values]
        if summary.codec == "boolean":
            values = [None if v is None else v == "true" for v in values]
    if not values and summary.default is not None:
        values = [summary.default]
    for index, value in enumerate(values if summary.many else values[:1]):
        if value is None:
            continue
        path = summary.path.replace("[*]", f"[{index + summary.start}]")
        if summary.codec == "dateTime":
            try:
                place_datetime(resource, path, str(value))
            except ValueError as problem:
                raise UserError(
                    f"{summary.value}: {problem}", domain, "correct the SDTM value"
                ) from None
        else:
            set_path(resource, path, value)
        if summary.system:
            parent = path.rpartition(".")[0]
            set_path(resource, f"{parent}.system" if parent else "system", summary.system)


def records(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The SDTM records carried by a grouped resource, in order."""
    out = []
    for ext in resource.get("extension", []):
        if ext.get("url") == SDTM_RECORD:
            out.append(
                {
                    part["url"]: part.get("valueString", part.get("valueDecimal"))
                    if part["url"] != ORDER
                    else part.get("valueInteger")
                    for part in ext.get("extension", [])
                }
            )
    return out
