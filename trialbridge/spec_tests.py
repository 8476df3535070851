"""Spec tests: `mappings/<spec>.test.yaml` beside a spec holds cases, each with source rows
and the SDTM records they must give. A case runs the whole study as `convert` does, the
spec's sources holding only the case's rows (a source the case does not give is empty for
the spec; other specs read their files as usual), and compares the named variables of each
expected record, in the order the dataset has them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pydantic import Field

from trialbridge.build import derive
from trialbridge.converters.engine import Mapper
from trialbridge.converters.lineage import COLUMN, FILE, ROW
from trialbridge.converters.source_cells import TEXT, counted, shown_value
from trialbridge.converters.source_tables import read_tables
from trialbridge.errors import UserError, checkpoint
from trialbridge.mappings.spec import DomainSpec
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.study import Strict, StudyFolder
from trialbridge.yamlio import Lines, line_of, load_model

Cell = str | int | float | None
SUFFIX = ".test.yaml"


class Case(Strict):
    """Source rows (by source name, as study.yaml names them) and the records (by dataset)
    they must give; a record names only the variables it checks."""

    name: str = Field(min_length=1)
    sources: dict[str, list[dict[str, Cell]]]
    expect: dict[str, list[dict[str, Cell]]] = Field(min_length=1)


class SpecTests(Strict):
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Outcome:
    """One case: where it is, and its differences (none when it passed)."""

    where: str
    name: str
    differences: list[str]


def test_files(folder: StudyFolder) -> list[tuple[str, Path]]:
    """The spec tests beside the study's specs, in the order study.yaml lists the specs."""
    found = []
    for name in folder.study.domains:
        path = folder.spec_path(name)
        test = path.with_name(path.name.removesuffix(".yaml") + SUFFIX)
        if test.is_file():
            found.append((folder.spec_shown(name).removesuffix(".yaml") + SUFFIX, test))
    return found


def run(folder: StudyFolder, ct: Terminology) -> list[Outcome]:
    """Every case of every spec test of the folder."""
    outcomes = []
    for shown, path in test_files(folder):
        spec_path = path.with_name(path.name.removesuffix(SUFFIX) + ".yaml")
        spec, _ = load_model(spec_path, DomainSpec, shown.removesuffix(SUFFIX) + ".yaml")
        tests, lines = load_model(path, SpecTests, shown)
        for i, case in enumerate(tests.cases):
            where = f"{shown}:{line_of(lines, ('cases', i))}"
            datasets = _run_case(folder, ct, spec, case, (shown, lines, i))
            outcomes.append(Outcome(where, case.name, _differences(case, datasets)))
    return outcomes


def _run_case(
    folder: StudyFolder,
    ct: Terminology,
    spec: DomainSpec,
    case: Case,
    origin: tuple[str, Lines, int],
) -> dict[str, Dataset]:
    """The study's datasets with the spec's sources replaced by the case's rows."""
    mapper = Mapper(folder, ct)
    read = {block.source for block in spec.sources} | set(case.sources)
    for name in sorted(read):
        mapper.sources[name] = _case_table(folder, name, case.sources.get(name, []), origin)
    mapped = mapper.run()
    checkpoint()
    return derive(folder, mapped, ct).datasets


def _case_table(
    folder: StudyFolder, name: str, rows: list[dict[str, Cell]], origin: tuple[str, Lines, int]
) -> pd.DataFrame:
    """The case's rows as the source's table: the real file's columns (those a row does not
    give are empty), each row's lineage its line in the test file."""
    shown, lines, case = origin
    where = f"{shown}:{line_of(lines, ('cases', case, 'sources', name))}"
    source = next((s for s in folder.study.sources if s.name == name), None)
    if source is None:
        known = ", ".join(s.name for s in folder.study.sources)
        raise UserError(
            f"source '{shown_value(name)}' is not in study.yaml", where, f"use one of: {known}"
        )
    real = read_tables(folder, source)[name]
    columns = [c for c in real.columns if c not in (FILE, ROW, COLUMN)]
    for j, row in enumerate(rows):
        unknown = [c for c in row if c not in columns]
        if unknown:
            at = f"{shown}:{line_of(lines, ('cases', case, 'sources', name, j))}"
            raise UserError(
                f"column '{shown_value(unknown[0])}' is not in {source.file}",
                at,
                "name the column as the file's header does",
            )
    text = {c: pd.Series([_text(row.get(c)) for row in rows], dtype=TEXT) for c in columns}
    table = pd.DataFrame(text, index=pd.RangeIndex(len(rows)))
    table[FILE] = shown
    table[ROW] = [
        line_of(lines, ("cases", case, "sources", name, j)) or 0 for j in range(len(rows))
    ]
    table[COLUMN] = pd.Series(pd.NA, index=table.index, dtype="str")
    return counted(table, len(rows), {})


def _text(value: Cell) -> str | None:
    """A cell as a source file holds it: text, empty for nothing."""
    if value is None or value == "":
        return None
    return str(value)


def _differences(case: Case, datasets: dict[str, Dataset]) -> list[str]:
    """Each way the datasets differ from what the case expects, naming record and variable."""
    found = []
    for name, expected in case.expect.items():
        data = datasets.get(name)
        frame = data.frame if data is not None else pd.DataFrame()
        if len(frame) != len(expected):
            found.append(f"{name}: {len(expected)} records expected, {len(frame)} made")
            continue
        for number, wanted in enumerate(expected, 1):
            for variable, value in wanted.items():
                if data is None or variable not in frame:
                    found.append(f"{name} record {number}: {variable} is not in {name}")
                    continue
                got = frame[variable].iloc[number - 1]
                if not _same(value, got):
                    numeric = pd.api.types.is_numeric_dtype(frame[variable])
                    shown = _shown(value) if not numeric or value is None else str(value)
                    found.append(
                        f"{name} record {number} {variable}: expected {shown}, got {_shown(got)}"
                    )
    return found


def _same(expected: Cell, got: object) -> bool:
    """Equal as SDTM writes them: empty is empty, a number equals its value in any notation."""
    if pd.isna(got) or got == "":  # type: ignore[arg-type]
        return expected is None or expected == ""
    if isinstance(got, float):
        try:
            return math.isclose(float(expected), got, rel_tol=1e-12, abs_tol=1e-12)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return expected is not None and str(expected) == str(got)


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "(empty)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"'{shown_value(value)}'"
