"""The whole rule set on randomly broken copies of the bundled study's SDTM: duplicated
records, dropped and repeated variables, numbers stored as text and text as numbers, blank
keys, empty and missing datasets, unknown domains. Whatever the damage, the validator gives
findings; nothing but a UserError may escape it."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.conformance import engine
from trialbridge.errors import UserError
from trialbridge.sdtm import xpt
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.dataset import Column, SourceFile, Table
from trialbridge.sdtm.define_read import read_define
from trialbridge.sdtm.read import dataset_from_table

KEYS = ("USUBJID", "STUDYID", "DOMAIN", "SUBJID", "RFSTDTC", "IDVAR", "IDVARVAL", "RDOMAIN")
DAMAGE = (
    "duplicate rows",
    "drop column",
    "repeat column",
    "number as text",
    "text as number",
    "blank key",
    "empty",
    "drop dataset",
    "unknown domain",
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt",))
    return out / "sdtm"


_TABLES: dict[Path, dict[str, Table]] = {}


def _tables(folder: Path) -> dict[str, Table]:
    if folder not in _TABLES:
        _TABLES[folder] = {p.stem.upper(): xpt.read_table(p) for p in sorted(folder.glob("*.xpt"))}
    return _TABLES[folder]


def _damaged(table: Table, damage: str, draw: st.DrawFn) -> Table | None:
    frame, columns = table.frame.copy(), list(table.columns)
    names = [c.name for c in columns]
    if damage == "drop dataset":
        return None
    if damage == "empty":
        return replace(table, frame=frame.iloc[0:0].reset_index(drop=True))
    if damage == "unknown domain":
        return replace(table, name="ZZ" + table.name[:6])
    if damage == "duplicate rows" and len(frame):
        rows = draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=5))
        frame = pd.concat([frame, frame.iloc[rows]], ignore_index=True)
        return replace(table, frame=frame)
    name = draw(st.sampled_from(names))
    at = names.index(name)
    if damage == "drop column" and len(names) > 1:
        del columns[at]
        return replace(table, frame=frame.drop(columns=name), columns=columns)
    if damage == "repeat column":
        return replace(table, repeated=(*table.repeated, columns[at]))
    if damage == "number as text" and columns[at].type == "Num":
        frame[name] = frame[name].map(lambda v: f"{v:g}", na_action="ignore").astype("str")
        columns[at] = Column(name, columns[at].label, "Char", 8, "string")
        return replace(table, frame=frame, columns=columns)
    if damage == "text as number" and columns[at].type == "Char":
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        columns[at] = Column(name, columns[at].label, "Num", 8, "double")
        return replace(table, frame=frame, columns=columns)
    if damage == "blank key" and len(frame):
        key = draw(st.sampled_from([k for k in KEYS if k in names] or names))
        rows = draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=3))
        blank = draw(st.sampled_from([np.nan, ""]))
        column = frame[key].astype(object)
        column.iloc[rows] = blank if columns[names.index(key)].type == "Char" else np.nan
        kind = "float64" if columns[names.index(key)].type == "Num" else "str"
        frame[key] = column.astype(kind)
        return replace(table, frame=frame)
    return table


@pytest.mark.filterwarnings("error")  # a warning would be printed under the one line
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_exception_but_a_user_error_escapes_the_rules(folder: Path, data: st.DataObject):
    tables = dict(_tables(folder))
    picks = data.draw(
        st.lists(st.tuples(st.sampled_from(sorted(tables)), st.sampled_from(DAMAGE)), max_size=8)
    )
    for name, damage in picks:
        if name in tables:
            broken = _damaged(tables[name], damage, data.draw)
            if broken is None:
                del tables[name]
            else:
                tables[name] = broken
    datasets = {}
    for key, table in tables.items():
        source = SourceFile(f"{key.lower()}.xpt", 1000, tuple(table.columns), table.repeated)
        dataset = dataset_from_table(table, source)
        datasets[dataset.name] = dataset
    with contextlib.suppress(
        UserError
    ):  # a UserError is a one-line answer; nothing else may escape
        engine.run(datasets, shipped_terminology(), define=read_define(folder / "define.xml"))
