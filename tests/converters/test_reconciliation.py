"""The reconciliation convert writes, tied to the fixtures by an independent count: the raw
CSV files read with the csv module, the specs with plain YAML, the written XPT files with
pyreadstat."""

from __future__ import annotations

import csv
from pathlib import Path

import pyreadstat
import pytest
import yaml

from tests.helpers import STUDY, copy_study, replace_in, run_cli


def _rows(file: str) -> list[dict[str, str]]:
    with (STUDY / file).open(newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if any(v.strip() for v in r.values())]


def _expected() -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(domain, source) -> (rows, melt cells, empty melt cells, records), from the CSV files
    and the specs' melt columns; no spec of the study filters with `where`."""
    study = yaml.safe_load((STUDY / "study.yaml").read_text())
    files = {s["name"]: s["file"] for s in study["sources"]}
    found = {}
    for name in study["domains"]:
        spec = yaml.safe_load((STUDY / "mappings" / name).read_text())
        for block in spec["sources"]:
            assert "where" not in block
            rows = _rows(files[block["source"]])
            melt = list(block.get("melt", {}).get("columns", {}))
            cells = len(rows) * len(melt)
            empty = sum(1 for r in rows for c in melt if not r[c].strip())
            records = cells - empty if melt else len(rows)
            found[(spec["domain"], block["source"])] = (len(rows), cells, empty, records)
    return found


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reconciled") / "out"
    result = run_cli("convert", STUDY, "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _table(out: Path) -> list[dict[str, str]]:
    with (out / "reconciliation.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_block_is_counted_as_the_csv_files_say(converted: Path):
    table = _table(converted)
    blocks = {
        (r["domain"], r["source"]): (
            int(r["rows_read"]),
            int(r["melt_cells"] or 0),
            int(r["melt_cells_empty"] or 0),
            int(r["records"]),
        )
        for r in table
        if r["domain"] and r["source"] not in ("(written)", "(left empty)")
    }
    assert blocks == _expected()
    # by hand: vitals has 25 visits x 7 measurements, height only at the 5 screenings plus
    # one missing temperature: 21 empty cells
    assert blocks[("VS", "vitals")] == (25, 175, 21, 154)


def test_records_written_are_the_blocks_records_and_the_xpt_rows(converted: Path):
    table = _table(converted)
    written = {r["domain"]: int(r["records"]) for r in table if r["source"] == "(written)"}
    per_block: dict[str, int] = {}
    for (domain, _), (_, _, _, records) in _expected().items():
        per_block[domain] = per_block.get(domain, 0) + records
    assert written == per_block
    for domain, count in written.items():
        frame, _ = pyreadstat.read_xport(converted / "sdtm" / f"{domain.lower()}.xpt")
        assert len(frame) == count, domain


def test_sources_say_what_no_spec_reads(converted: Path):
    sources = {r["source"]: r for r in _table(converted) if not r["domain"]}
    assert {name: int(r["rows_read"]) for name, r in sources.items()} == {
        name: len(_rows(f"raw/{name}.csv")) for name in sources
    }
    # by hand: the infusion form's visit (always D1) and body weight (also in vitals) are
    # read by no spec; every other column of every form is
    assert {n: r["columns_not_used"] for n, r in sources.items() if r["columns_not_used"]} == {
        "infusion": "Visit; Body weight (kg)"
    }


def test_rows_filtered_by_where_are_counted(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(
        study / "mappings/cm.yaml",
        "    subject: Subject No.\n",
        "    subject: Subject No.\n    where: {column: Subject No., not_equals: '001'}\n",
    )
    result = run_cli("convert", study, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rows = _rows("raw/conmeds.csv")
    dropped = sum(1 for r in rows if r["Subject No."] == "001")
    assert dropped > 0
    cm = next(r for r in _table(tmp_path / "out") if r["domain"] == "CM")
    counts = (cm["rows_read"], cm["rows_filtered_by_where"], cm["rows_kept"], cm["records"])
    kept = str(len(rows) - dropped)
    assert counts == (str(len(rows)), str(dropped), kept, kept)


def test_a_column_read_only_as_a_join_key_is_used(tmp_path: Path):
    """A demographics column that only keys the join to the completion form is read."""
    study = copy_study(tmp_path)
    path = study / "raw/demographics.csv"
    lines = path.read_text().splitlines()
    keyed = [f"{lines[0]},Record"] + [f"{line},{line.split(',')[0]}" for line in lines[1:]]
    path.write_text("\n".join(keyed) + "\n")
    replace_in(
        study / "mappings/dm.yaml",
        "by: {Subject No.: Subject No.}",
        "by: {Record: Subject No.}",
    )
    result = run_cli("convert", study, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    sources = {r["source"]: r for r in _table(tmp_path / "out") if not r["domain"]}
    assert sources["demographics"]["columns_not_used"] == ""
    assert sources["completion"]["columns_not_used"] == ""
