"""A study folder scaled up for benchmarks, from any study folder: the same study.yaml and
mappings, raw tables with more subjects and more unscheduled visits. Nothing here knows a
study: the mappings say which column holds the subject, which columns are dates (and their
format), which column is the visit and which code means unscheduled, and which tables feed
Findings domains.

Subject j is a copy of source subject j mod n with its own id and its dates moved by a number
of days drawn (seeded) for it. In tables that feed a Findings domain, each subject's last
visit is repeated `visits` times as unscheduled visits a week apart, so results grow with
the visits while events, treatments and demographics grow with the subjects."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from trialbridge.mappings.spec import DateArgs, DomainSpec, RecodeArgs
from trialbridge.sdtm.metadata import standard_domains
from trialbridge.study import StudyFolder, load_study
from trialbridge.yamlio import load_model

_TOKENS = (("yyyy", "%Y"), ("mmm", "%b"), ("mm", "%m"), ("dd", "%d"))


@dataclass
class TableRole:
    """What the mappings say about one raw table."""

    subject: str | None = None
    dates: dict[str, str] = field(default_factory=dict)  # column -> strftime format
    visit: str | None = None
    unscheduled: str | None = None  # the table's code for an unscheduled visit
    findings: bool = False


def scale(source: Path, target: Path, subjects: int, visits: int, seed: int = 20211) -> None:
    folder = load_study(source)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("raw"))
    roles = _roles(folder)
    files = {s.name: s.file for s in folder.study.sources}
    ids = _subject_ids(source, files, roles)
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, 365, size=subjects)
    width = max(len(str(subjects)), max(len(i) for i in ids))
    names = np.array([str(j + 1).zfill(width) for j in range(subjects)], dtype=object)
    for name, file in files.items():
        raw = pd.read_csv(source / file, dtype=str, keep_default_na=False)
        role = roles.get(name, TableRole())
        scaled = _scaled(raw, role, ids, names, offsets, visits)
        (target / file).parent.mkdir(parents=True, exist_ok=True)
        scaled.to_csv(target / file, index=False)


def _roles(folder: StudyFolder) -> dict[str, TableRole]:
    """How each source table is scaled, from the specs study.yaml lists (not every YAML file
    in mappings/: spec tests sit there too)."""
    unscheduled = folder.study.unscheduled_visit
    classes = {code: meta.dataset_class for code, meta in standard_domains().items()}
    roles: dict[str, TableRole] = {}
    for name in folder.study.domains:
        path = folder.spec_path(name)
        spec, _ = load_model(path, DomainSpec, path.name)
        for block in spec.sources:
            role = roles.setdefault(block.source, TableRole())
            role.subject = block.subject or role.subject
            role.findings |= classes.get(spec.domain) == "Findings"
            for node in _nodes(block):
                if isinstance(node, DateArgs):
                    role.dates[node.column] = _strftime(node.format)
                elif isinstance(node, RecodeArgs) and unscheduled in (node.map or {}).values():
                    role.visit = node.column
                    role.unscheduled = next(k for k, v in node.map.items() if v == unscheduled)
    return roles


def _nodes(node: Any) -> list[Any]:
    """Every model inside a mapping block, depth first."""
    found = [node]
    children = (
        [getattr(node, f) for f in type(node).model_fields]
        if isinstance(node, BaseModel)
        else list(node.values())
        if isinstance(node, dict)
        else list(node)
        if isinstance(node, list)
        else []
    )
    for child in children:
        found += _nodes(child)
    return found


def _strftime(fmt: str) -> str:
    for token, code in _TOKENS:
        fmt = fmt.replace(token, code)
    return fmt


def _subject_ids(source: Path, files: dict[str, str], roles: dict[str, TableRole]) -> list[str]:
    ids: set[str] = set()
    for name, role in roles.items():
        if role.subject and name in files:
            raw = pd.read_csv(source / files[name], dtype=str, keep_default_na=False)
            ids |= set(raw[role.subject])
    return sorted(i for i in ids if i)


def _scaled(
    raw: pd.DataFrame,
    role: TableRole,
    ids: list[str],
    names: np.ndarray,
    offsets: np.ndarray,
    visits: int,
) -> pd.DataFrame:
    if role.subject is None:
        return raw
    if role.findings and role.visit is not None and visits:
        raw = _with_unscheduled(raw, role, visits)
    pieces = []
    for number, template in enumerate(ids):
        rows = raw[raw[role.subject] == template]
        clones = np.arange(number, len(names), len(ids))
        if rows.empty or not len(clones):
            continue
        block = rows.iloc[np.tile(np.arange(len(rows)), len(clones))].reset_index(drop=True)
        block[role.subject] = np.repeat(names[clones], len(rows))
        days = np.repeat(offsets[clones], len(rows))
        for column, fmt in role.dates.items():
            if column in block:
                block[column] = _moved(block[column], fmt, days)
        pieces.append(block)
    frame = pd.concat(pieces, ignore_index=True)
    order = np.argsort(frame[role.subject].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def _with_unscheduled(raw: pd.DataFrame, role: TableRole, visits: int) -> pd.DataFrame:
    """Each subject's last visit (by its first date column) again, as unscheduled visits one
    week apart after it."""
    date_column, fmt = next((c, f) for c, f in role.dates.items() if c in raw)
    when = pd.to_datetime(raw[date_column], format=fmt, errors="coerce")
    last = when.groupby(raw[role.subject]).transform("max")
    latest = raw[(when == last) & when.notna()].drop_duplicates(role.subject)
    copies = latest.iloc[np.repeat(np.arange(len(latest)), visits)].reset_index(drop=True)
    weeks = np.tile(np.arange(1, visits + 1), len(latest)) * 7
    copies[role.visit] = role.unscheduled
    for column, column_fmt in role.dates.items():
        copies[column] = _moved(copies[column], column_fmt, weeks)
    return pd.concat([raw, copies], ignore_index=True)


def _moved(values: pd.Series, fmt: str, days: np.ndarray) -> pd.Series:
    """Dates moved by `days`; partial or blank dates are kept as written."""
    when = pd.to_datetime(values, format=fmt, errors="coerce")
    moved = (when + pd.to_timedelta(days, unit="D")).dt.strftime(fmt)
    return moved.where(when.notna(), values).astype(object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--visits", type=int, default=46)
    parser.add_argument("--seed", type=int, default=20211)
    arguments = parser.parse_args()
    scale(arguments.source, arguments.target, arguments.subjects, arguments.visits, arguments.seed)


if __name__ == "__main__":
    main()
