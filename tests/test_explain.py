"""`trialbridge explain` on the PLMSC output: every dataset answers, a collected value names
its raw row and spec line, a derived one its inputs, a record its FHIR resource. Expected
values come from the raw CSVs (csv module), the XPT files (pyreadstat) and the FHIR output
itself, not from the code under test."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyreadstat
import pytest

from tests.helpers import STUDY, run_cli

SUBJECT = "PLMSC-SPMS-01-001"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("explain") / "out"
    result = run_cli("convert", STUDY, "--out", target, "--format", "xpt,fhir")
    assert result.exit_code == 0, result.output
    return target


def _explain(out: Path, *args: object) -> list[str]:
    result = run_cli("explain", out, *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _raw_row(name: str, subject: str, visit: str) -> int:
    """The file row (header = 1) of a subject's visit in a raw CSV."""
    with (STUDY / "raw" / name).open(newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), 2):
            if row["Subject No."] == subject and row["Visit"] == visit:
                return number
    raise AssertionError(f"no {subject} {visit} in {name}")


def _hgb_seq(out: Path) -> int:
    lb, _ = pyreadstat.read_xport(str(out / "sdtm" / "lb.xpt"))
    hit = lb[(lb.USUBJID == SUBJECT) & (lb.LBTESTCD == "HGB") & (lb.VISIT == "SCREENING")]
    return int(hit.LBSEQ.iloc[0])


def test_every_dataset_of_the_output_answers(out: Path):
    for path in sorted((out / "sdtm").glob("*.xpt")):
        data, _ = pyreadstat.read_xport(str(path))
        name = path.stem.upper()
        subject = str(data.USUBJID.iloc[0]) if "USUBJID" in data else "-"
        seq = f"{name}SEQ"
        number = int(data[seq].iloc[0]) if seq in data and subject != "-" else 1
        lines = _explain(out, name, subject, number)
        assert lines[0].startswith(f"{name} record 1: USUBJID {subject}")
        assert lines[1].startswith("  source: ")
        assert lines[-1].startswith("  FHIR: ")
        related = [line for line in lines if line.startswith(("  SUPP", "  RELREC"))]
        assert len(lines) == 3 + len(data.columns) + len(related)  # a line per variable


def test_a_collected_value_names_its_raw_row_column_and_spec_line(out: Path):
    lines = _explain(out, "LB", SUBJECT, _hgb_seq(out), "LBORRES")
    row = _raw_row("labs_cbc.csv", "001", "SCR")
    assert lines[1] == f"  source: raw/labs_cbc.csv, row {row}, column HGB (g/dL)"
    assert lines[2] == (
        f"  LBORRES '13.1': Collected; from raw/labs_cbc.csv, row {row}, column HGB (g/dL); "
        "set by mappings/lb.yaml:19"
    )
    spec = (STUDY / "mappings" / "lb.yaml").read_text().splitlines()
    assert spec[19 - 1].strip() == "LBORRES: {copy: RESULT}"


def test_a_derived_value_names_its_inputs(out: Path):
    lines = _explain(out, "LB", SUBJECT, _hgb_seq(out), "LBSTRESN")
    # 13.1 g/dL in the raw file; the spec's standard unit for HGB is g/L: 131 by hand
    assert lines[2].startswith("  LBSTRESN 131: Derived; ")
    assert lines[2].endswith("; derived from LBORRES '13.1', LBORRESU 'g/dL'")
    age = _explain(out, "DM", SUBJECT, 1, "AGE")
    # born 14/03/1983, consent 11/06/2021 (raw/demographics.csv): 38 completed years
    assert age[2] == (
        "  AGE 38: Derived; Completed years from BRTHDTC to RFICDTC; derived from "
        "DM.BRTHDTC '1983-03-14', DM.RFICDTC '2021-06-11'"
    )


def test_the_fhir_resource_named_is_in_the_fhir_output(out: Path):
    lines = _explain(out, "LB", SUBJECT, _hgb_seq(out), "LBORRES")
    kind, _, rid = lines[-1].removeprefix("  FHIR: ").partition("/")
    assert kind == "Observation"
    found = [
        json.loads(line)
        for line in (out / "fhir" / "ndjson" / "Observation.ndjson").read_text().splitlines()
        if f'"id":"{rid}"' in line
    ]
    assert len(found) == 1
    assert found[0]["code"]["coding"][0]["code"] == "HGB"


def test_a_record_lists_its_qualifiers_and_related_records(out: Path):
    # raw/adverse_events.csv: subject 001's AE 1 is infusion related ("Yes"); in
    # raw/conmeds.csv the same subject's Acetaminophen names "Related AE No." 1
    ae, _ = pyreadstat.read_xport(str(out / "sdtm" / "ae.xpt"))
    cm, _ = pyreadstat.read_xport(str(out / "sdtm" / "cm.xpt"))
    aeseq = int(
        ae[(ae.USUBJID == SUBJECT) & (ae.AETERM == "mild headache after infusion")].AESEQ.iloc[0]
    )
    cmseq = int(cm[(cm.USUBJID == SUBJECT) & (cm.CMTRT == "Acetaminophen 500mg tab")].CMSEQ.iloc[0])
    lines = _explain(out, "AE", SUBJECT, aeseq)
    assert lines[-3:-1] == [
        "  SUPPAE: AEINFRL 'Y' (Infusion Related Reaction; Collected)",
        f"  RELREC RELID 1: with CM CMSEQ {cmseq}",
    ]
    assert _explain(out, "CM", SUBJECT, cmseq)[-2] == f"  RELREC RELID 1: with AE AESEQ {aeseq}"
    # the subject's other medication (Rituximab) names no AE: no RELREC line
    other = int(cm[(cm.USUBJID == SUBJECT) & (cm.CMTRT == "Rituximab")].CMSEQ.iloc[0])
    assert not any("RELREC" in line for line in _explain(out, "CM", SUBJECT, other))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("XX", "a", "1"), "DOMAIN: no dataset XX in {out}/sdtm; use one of: AE, CM, DM, DS, "),
        (("LB", "nobody", "1"), "USUBJID: no LB record of USUBJID nobody; give the USUBJID "),
        (("LB", SUBJECT, "999"), f"SEQ: no LB record with LBSEQ 999 for USUBJID {SUBJECT}; "),
        (("TS", SUBJECT, "1"), "USUBJID: TS holds no subject's records; give - for USUBJID "),
        (("LB", SUBJECT, "1", "FOO"), "VARIABLE: LB has no variable FOO; use one of: STUDYID, "),
    ],
)
def test_a_wrong_question_is_one_line(out: Path, args: tuple[str, ...], message: str):
    result = run_cli("explain", out, *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: " + message.format(out=out))


def test_a_folder_without_lineage_is_one_line(tmp_path: Path):
    result = run_cli("explain", tmp_path, "LB", SUBJECT, "1")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path}: the folder holds no lineage; give the folder `convert --out` "
        "wrote (it holds sdtm/ and lineage/)\n"
    )
