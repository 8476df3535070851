"""The HL7/CDISC joint mapping guide as a test: of the SDTM variables the guide maps to a
standard FHIR element and a study holds, at least 95% are found there (or at the documented
alternative, tests/fhir/ig_alignment.csv) in the resources trialbridge builds, on every
record that has a value: PLMSC and the CDISC pilot. The paths are evaluated by a FHIRPath
subset written for this test (fhirpath_lite), the NCIt codes read from the CT file with the
csv module."""

from __future__ import annotations

import contextlib
import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from tests.fhir.fhirpath_lite import Index, evaluate
from tests.helpers import ROOT
from tests.pilot import write_pilot
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.build import domain_of
from trialbridge.sdtm.read import read_folder

GUIDE = ROOT.parent / "shared" / "reference" / "hl7-cdisc-ig-mappings.csv"
ALIGNMENT = Path(__file__).with_name("ig_alignment.csv")
CT = ROOT / "trialbridge" / "sdtm" / "standards" / "ct.tsv"


def guide_variables() -> dict[str, set[str]]:
    """Domain -> the variables the guide maps to a FHIR element (a path given), without the
    DM. prefix it gives subject-level ones, SUPP-- qualifiers aside."""
    out: dict[str, set[str]] = defaultdict(set)
    with GUIDE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = row["SDTM Element"].strip().rstrip("*").removeprefix("DM.")
            if row["FHIR Path"].strip() and not name.startswith("SUPP"):
                out[row["Domain"]].add(name)
    return out


def alignment() -> dict[tuple[str, str], list[dict[str, str]]]:
    out: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with ALIGNMENT.open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    for row in csv.DictReader(lines):
        out[(row["domain"], row["variable"].removeprefix("DM."))].append(row)
    return out


def ncit_codes() -> dict[str, dict[str, str]]:
    """Codelist short name -> submission value -> NCIt C-code."""
    with CT.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    names = {r["Code"]: r["CDISC Submission Value"] for r in rows if not r["Codelist Code"]}
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if row["Codelist Code"] in names:
            out[names[row["Codelist Code"]]][row["CDISC Submission Value"]] = row["Code"]
    return out


def _local(value: str) -> str:
    """A FHIR dateTime's local part: zone and :00 seconds aside."""
    if "T" not in value:
        return value
    local = value[:19]
    return local[:16] if local.endswith(":00") else local


def matches(kind: str, sdtm: Any, found: list[Any], codes: dict[str, dict[str, str]]) -> bool:
    text = str(sdtm)
    if kind == "text":
        return text in [str(v) for v in found]
    if kind == "number":
        numbers = []
        for value in found:
            with contextlib.suppress(TypeError, ValueError):
                numbers.append(float(value))
        try:
            wanted = float(sdtm)
            return any(math.isclose(wanted, n) for n in numbers)
        except ValueError:  # a result such as NEGATIVE or <0.5: its text, or comparator+value
            texts = [str(v) for v in found]
            return text in texts or any(a + b == text for a in texts for b in texts)
    if kind == "date":
        return any(text.startswith(_local(str(v))) for v in found)
    if kind == "lower":
        return text.lower() in [str(v) for v in found]
    if kind.startswith("ncit:"):
        return codes[kind[5:]][text] in found
    if kind.startswith("map:"):
        pairs = dict(p.split("=") for p in kind[4:].split(";"))
        return pairs.get(text, text) in found
    if kind.startswith("flag:"):
        return (kind[5:] in found) == (text == "Y")
    raise ValueError(kind)


def applies(kind: str, sdtm: Any, codes: dict[str, dict[str, str]]) -> bool:
    """NCIt rows check only terms of the codelist (a sponsor term has no C-code)."""
    return not kind.startswith("ncit:") or str(sdtm) in codes[kind[5:]]


@dataclass
class Verdict:
    records: int = 0
    found: int = 0
    missing: list[str] = field(default_factory=list)  # the first few: dataset, record, path


def measure(folder: Path) -> dict[tuple[str, str], Verdict | None]:
    """(domain, variable) -> what the alignment's paths found (None: no alignment row)."""
    datasets = read_folder(folder)
    built = assemble(datasets).built
    resources = {b.dataset: [orjson.loads(t) for t in b.texts().to_pylist()] for b in built}
    index = Index([r for items in resources.values() for r in items])
    dm = datasets["DM"].frame.set_index("USUBJID")
    rows, codes = alignment(), ncit_codes()
    out: dict[tuple[str, str], Verdict | None] = {}
    for domain, variables in guide_variables().items():
        names = [n for n, d in datasets.items() if domain_of(d) == domain]
        for variable in sorted(variables):
            verdict = Verdict()
            for name in names:
                frame = datasets[name].frame
                if variable in frame:
                    values = frame[variable]
                elif variable in dm and "USUBJID" in frame:
                    values = frame["USUBJID"].map(dm[variable])
                else:
                    continue
                for record, value in enumerate(values):
                    if pd.isna(value) or str(value).strip() == "":
                        continue
                    _check(
                        verdict,
                        rows.get((domain, variable), []),
                        value,
                        codes,
                        index,
                        resources[name][record],
                        f"{name} record {record + 1}",
                    )
            if verdict.records:
                out[(domain, variable)] = verdict if (domain, variable) in rows else None
    return out


def _check(
    verdict: Verdict,
    rows: list[dict[str, str]],
    value: Any,
    codes: dict[str, dict[str, str]],
    index: Index,
    resource: dict[str, Any],
    where: str,
) -> None:
    verdict.records += 1
    for row in rows:
        if not applies(row["match"], value, codes):
            continue
        if not matches(row["match"], value, evaluate(row["path"], resource, index), codes):
            if len(verdict.missing) < 3:
                verdict.missing.append(f"{where}: {value!r} not at {row['path']}")
            return
    verdict.found += 1


def report(found: dict[tuple[str, str], Verdict | None]) -> tuple[float, list[str]]:
    """The share of present guide variables found on every record, and the others."""
    others = [
        f"{d}.{v}: " + ("no alignment row" if r is None else f"{r.found}/{r.records} {r.missing}")
        for (d, v), r in sorted(found.items())
        if r is None or r.found < r.records
    ]
    return 1 - len(others) / len(found), others


@pytest.fixture(scope="module")
def plmsc_sdtm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers import run_cli

    out = tmp_path_factory.mktemp("plmsc")
    result = run_cli("convert", ROOT / "fixtures" / "plmsc-spms", "--out", out, "--format", "xpt")
    assert result.exit_code == 0, result.output
    return out / "sdtm"


def test_plmsc_variables_are_where_the_guide_maps_them(plmsc_sdtm: Path):
    share, others = report(measure(plmsc_sdtm))
    # AE.AECONTRT: the guide's mitigatingAction item needs a coded action; Y/N is not one
    assert others == [
        "AE.AECONTRT: no alignment row",
    ]
    assert share >= 0.95


def test_pilot_variables_are_where_the_guide_maps_them(tmp_path: Path):
    share, others = report(measure(write_pilot(tmp_path / "pilot")))
    assert others == [
        "AE.AESCAN: no alignment row",
        "AE.AESOD: no alignment row",
        "DM.DMDTC: no alignment row",
        "VS.VSTPT: no alignment row",
    ]
    assert share >= 0.95
