"""LOINC for laboratory results where a dataset has no LBLOINC: from the test, specimen, method
and unit (fhir/definitions/loinc.csv). Every code is checked here by LOINC's own check digit
(its Mod 10 algorithm, worked independently), and the pilot's and the ASCEND study's labs by
their counts, read with pyarrow and the csv module."""

from __future__ import annotations

import csv
from collections import Counter
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq

from tests.pilot import source, write_pilot
from trialbridge import api
from trialbridge.fhir.assemble import assemble
from trialbridge.sdtm.read import read_folder

LOINC = "http://loinc.org"
ROOT = Path(__file__).resolve().parents[2]


def table_rows() -> list[dict[str, str]]:
    path = resources.files("trialbridge.fhir.definitions").joinpath("loinc.csv")
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def check_digit(number: str) -> int:
    """LOINC's Mod 10: the digits in odd places from the right, as one number, doubled; the
    digits in even places put before it; 10 minus the last digit of the sum of all digits."""
    odd = number[::-1][0::2][::-1]
    even = number[::-1][1::2][::-1]
    digits = even + str(int(odd) * 2)
    return (10 - sum(int(d) for d in digits) % 10) % 10


def test_check_digit_as_loinc_documents_it():
    assert check_digit("718") == 7  # 718-7, haemoglobin: "78" * 2 = 156, 1+1+5+6 = 13
    assert check_digit("2345") == 7  # 2345-7, glucose
    assert check_digit("3107") == 0  # 3107-0; 3107-1 would be a mistyped code


def test_every_code_in_the_table_has_its_check_digit_and_one_meaning():
    rows = table_rows()
    assert len(rows) == 61
    for row in rows:
        number, _, digit = row["code"].partition("-")
        assert check_digit(number) == int(digit), row
    keys = Counter((r["LBTESTCD"], r["LBSPEC"], r["LBMETHOD"], r["LBORRESU"]) for r in rows)
    assert [key for key, n in keys.items() if n > 1] == []
    names: dict[str, set[str]] = {}
    for row in rows:
        names.setdefault(row["code"], set()).add(row["display"])
    assert {code: n for code, n in names.items() if len(n) > 1} == {}


def lab_codings(resources_: list[dict]) -> Counter[tuple[str, str | None]]:
    """(LBTESTCD, LOINC code) of every LB Observation."""
    found: Counter[tuple[str, str | None]] = Counter()
    for resource in resources_:
        tags = {t["code"] for t in resource["meta"]["tag"]}
        if resource["resourceType"] != "Observation" or not any(t.startswith("LB") for t in tags):
            continue
        codings = resource["code"]["coding"]
        loinc = [c["code"] for c in codings if c.get("system") == LOINC]
        found[(codings[0]["code"], loinc[0] if loinc else None)] += 1
    return found


def test_every_pilot_lab_result_carries_its_loinc(tmp_path: Path):
    datasets = read_folder(write_pilot(tmp_path, ["dm", "lbch", "lbhe", "lbur"]))
    found = lab_codings(assemble(datasets).resources())
    frames = [pq.read_table(source() / f"lb{n}.parquet").to_pandas() for n in ("ch", "he", "ur")]
    assert sum(found.values()) == sum(len(f) for f in frames) == 59_580
    assert [key for key in found if key[1] is None] == []
    # units chosen by hand from the pilot's LBORRESU (mass units: mg/dL, g/dL)
    assert found[("GLUC", "2345-7")] == 1810
    assert found[("HGB", "718-7")] == 1809
    assert found[("SODIUM", "2951-2")] == 1808
    assert found[("UROBIL", "13658-0")] == 874
    assert found[("POLYCHR", "10378-8")] == 29


def test_the_unit_picks_mass_or_moles_and_the_sponsors_loinc_wins(tmp_path: Path):
    out = tmp_path / "ascend"
    api.convert(ROOT / "fixtures" / "ascend-spms", out, formats=("xpt",))
    datasets = {n: d for n, d in read_folder(out / "sdtm").items() if n in ("DM", "LB")}
    found = lab_codings(assemble(datasets).resources())
    # ASCEND's site 102 reports glucose and creatinine in SI units (counted from its LB)
    assert found[("GLUC", "2345-7")] == 47 and found[("GLUC", "14749-6")] == 25
    assert found[("CREAT", "2160-0")] == 48 and found[("CREAT", "14682-9")] == 25
    assert found[("HGB", "718-7")] == 72
    plmsc = tmp_path / "plmsc"
    api.convert(ROOT / "fixtures" / "plmsc-spms", plmsc, formats=("xpt",))
    datasets = {n: d for n, d in read_folder(plmsc / "sdtm").items() if n in ("DM", "LB")}
    found = lab_codings(assemble(datasets).resources())
    # PLMSC's LB has LBLOINC: its own codes, and none for the tests it leaves blank
    # (counted from its lb.xpt by LBTESTCD and LBLOINC)
    assert found[("HGB", "718-7")] == 16
    assert found[("INTLK10", "26848-2")] == 25
    assert found[("CD19LY", None)] == 25
