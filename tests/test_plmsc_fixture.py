"""The bundled PLMSC study end to end: the issue's facts, metadata, golden files, determinism,
and agreement between pyreadstat and an independent XPT reader."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests import xpt_reader
from tests.helpers import ROOT, STUDY, assert_golden
from trialbridge import api

GOLDEN = ROOT / "tests" / "golden" / "plmsc-spms"
EXPECTED = [
    *("dm", "ae", "suppae", "cm", "ex", "ds", "lb", "qs", "ft", "nv", "vs"),
    *("ts", "ta", "te", "tv", "ti", "se", "sv", "relrec"),
]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> api.Converted:
    return api.convert(STUDY, tmp_path_factory.mktemp("plmsc"))


def xpt_files(converted: api.Converted) -> list[Path]:
    return [p for p in converted.files if p.suffix == ".xpt"]


def read(converted: api.Converted, name: str) -> pd.DataFrame:
    path = next(p for p in xpt_files(converted) if p.stem == name)
    return pyreadstat.read_xport(str(path))[0]


def test_every_domain_is_written(converted: api.Converted):
    assert [p.name for p in xpt_files(converted)] == [f"{n}.xpt" for n in EXPECTED]
    assert [p.name for p in converted.files[-8:]] == [
        "define.xml",
        "define.html",
        "records.arrow",
        "variables.json",
        "reconciliation.csv",
        "validation.json",
        "validation.html",
        "validation.xlsx",
    ]


def test_the_issue_facts(converted: api.Converted):
    dm = read(converted, "dm")
    assert dm["USUBJID"].nunique() == 5 and len(dm) == 5
    ae = read(converted, "ae")
    assert ae["AEDECOD"].tolist() == ["Headache", "Headache"]
    ex = read(converted, "ex")
    assert len(ex) == 5 and set(ex["EXROUTE"]) == {"INTRAVENOUS"}
    assert ex["EXTRT"].unique().tolist() == ["PLACENTA-DERIVED MESENCHYMAL STEM CELLS"]
    lb = read(converted, "lb")
    with_result = lb[lb["LBSTRESC"] != ""]
    for test in ["INTLK10", "INTLK6", "INTLK17", "TNF", "CD19LY", "CD20LY"]:
        visits = with_result[with_result["LBTESTCD"] == test].groupby("USUBJID")["VISITNUM"]
        assert visits.nunique().min() >= 4, test
        assert visits.nunique().size == 5, test
    assert {"WBC", "HGB", "PLAT", "LYMLE"} <= set(lb["LBTESTCD"])
    qs = read(converted, "qs")
    edss = qs[qs["QSTESTCD"] == "EDSS0101"].groupby("USUBJID")["VISITNUM"].nunique()
    assert edss.size == 5 and edss.min() >= 4


def test_labels_and_order_follow_the_metadata(converted: api.Converted):
    for name, dataset in converted.datasets.items():
        path = next(p for p in xpt_files(converted) if p.stem == name.lower())
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        assert meta.column_names == [v.name for v in dataset.variables]
        assert meta.column_labels == [v.label for v in dataset.variables]
        assert meta.file_label == dataset.label
        assert meta.table_name == name


def test_char_lengths_equal_the_longest_value(converted: api.Converted):
    for path in xpt_files(converted):
        _, _, variables, rows = xpt_reader.read(path)
        for i, var in enumerate(variables):
            if not var["numeric"]:
                longest = max((len(r[i]) for r in rows), default=0)
                assert var["length"] == max(longest, 1), (path.name, var["name"])


def test_an_independent_reader_agrees_with_pyreadstat(converted: api.Converted):
    for path in xpt_files(converted):
        name, label, variables, rows = xpt_reader.read(path)
        frame, meta = pyreadstat.read_xport(str(path))
        assert (name, label) == (meta.table_name, meta.file_label)
        assert [v["label"] for v in variables] == meta.column_labels
        assert len(rows) == len(frame)
        for r, row in enumerate(rows):
            for i, value in enumerate(row):
                theirs = frame.iat[r, i]
                if isinstance(value, float) and math.isnan(value):
                    assert pd.isna(theirs)
                else:
                    assert value == theirs, (path.name, r, variables[i]["name"])


def test_same_inputs_give_byte_identical_files(converted: api.Converted, tmp_path: Path):
    again = api.convert(STUDY, tmp_path)
    for first, second in zip(converted.files, again.files, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def golden_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def test_datasets_match_the_reviewed_golden_files(
    converted: api.Converted, request: pytest.FixtureRequest
):
    update = request.config.getoption("--update-golden")
    for name in EXPECTED:
        assert_golden(golden_text(read(converted, name)), GOLDEN / f"{name}.csv", update)


def test_trial_summary_and_criteria(converted: api.Converted):
    ts = read(converted, "ts")
    sstdtc = ts.loc[ts["TSPARMCD"] == "SSTDTC", "TSVAL"].tolist()
    assert sstdtc == ["2021-06-11"]  # a complete ISO 8601 date: the first informed consent
    assert set(ts.loc[ts["TSPARMCD"] == "REGID", "TSVAL"]) == {
        "NCT06360861",
        "IRCT20210614051576N1",
    }
    ti = read(converted, "ti")
    assert (ti["IECAT"] == "INCLUSION").sum() == 4 and (ti["IECAT"] == "EXCLUSION").sum() == 9


def test_subject_visits_match_the_findings_domains(converted: api.Converted):
    sv = read(converted, "sv")
    seen = set()
    for name in ("lb", "qs", "ft", "nv", "vs"):
        frame = read(converted, name)
        seen |= set(zip(frame["USUBJID"], frame["VISITNUM"], strict=True))
    assert set(zip(sv["USUBJID"], sv["VISITNUM"], strict=True)) == seen
    assert len(sv) == len(seen) == 26


def test_each_headache_is_linked_to_the_tablet(converted: api.Converted):
    relrec = read(converted, "relrec")
    ae, cm = read(converted, "ae"), read(converted, "cm")
    for relid, pair in relrec.groupby(["USUBJID", "RELID"]):
        sides = dict(zip(pair["RDOMAIN"], pair["IDVARVAL"], strict=True))
        term = ae.loc[(ae["USUBJID"] == relid[0]) & (ae["AESEQ"] == float(sides["AE"]))]
        drug = cm.loc[(cm["USUBJID"] == relid[0]) & (cm["CMSEQ"] == float(sides["CM"]))]
        assert term["AEDECOD"].tolist() == ["Headache"]
        assert drug["CMDECOD"].tolist() == ["PARACETAMOL"]
    assert relrec["USUBJID"].nunique() == 2


def test_outputs_do_not_depend_on_the_hash_seed(tmp_path: Path):
    """Two processes with different PYTHONHASHSEED give byte-identical files."""
    import os
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        args = ["convert", str(STUDY), "--out", str(out), "--format", "xpt,json"]
        code = "import sys; from trialbridge.cli import main; main(sys.argv[1:])"
        subprocess.run(
            [sys.executable, "-c", code, *args], check=True, env=env, stdout=subprocess.DEVNULL
        )
        outputs.append({p.name: p.read_bytes() for p in (out / "sdtm").iterdir()})
    assert outputs[0] == outputs[1]
