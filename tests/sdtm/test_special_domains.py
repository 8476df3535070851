"""The domains with derivations of their own, on a copy of the bundled study extended the way
a data manager would: EX made from EC with a missed dose, IE from the eligibility form and
the study's criteria, MH timed against the reference period. Expected values are worked by
hand from the edited raw files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.helpers import copy_study, fails_with, replace_in, run_cli
from trialbridge.sdtm import define_xml

EC_SPEC = """domain: EC
derive_ex: true
sources:
  - source: infusion
    subject: Subject No.
    variables:
      ECTRT: {constant: PLACENTA-DERIVED MESENCHYMAL STEM CELLS}
      ECPRESP: {constant: "Y"}
      ECOCCUR: {copy: Given}
      ECREASOC: {copy: Reason not given}
      ECDOSE: {copy: Dose (x10^6 cells/kg)}
      ECDOSU: {constant: 10^6/kg}
      ECDOSFRM: {constant: SUSPENSION}
      ECROUTE: {recode: {column: Route, map: {IV: INTRAVENOUS}, codelist: ROUTE}}
      ECLOT: {copy: Lot}
      ECSTDTC: {date: {column: Infusion date, format: dd/mm/yyyy, time: Start time}}
      ECENDTC: {date: {column: Infusion date, format: dd/mm/yyyy, time: End time}}
"""

IE_SPEC = """domain: IE
sources:
  - source: eligibility
    subject: Subject No.
    variables:
      IEORRES: {copy: MET}
      IEDTC: {date: {column: Visit date, format: dd/mm/yyyy}}
    melt:
      value: MET
      columns:
        SPMS (McDonald): {IETESTCD: INCL01}
        Disease duration 2-15 y: {IETESTCD: INCL02}
        On rituximab: {IETESTCD: INCL03}
        Able to consent: {IETESTCD: INCL04}
        Pregnant or breastfeeding: {IETESTCD: EXCL01}
        HBV/HCV/HIV/HTLV: {IETESTCD: EXCL02}
        Cytotoxic within 3 months: {IETESTCD: EXCL03}
        Severe anaemia or coagulopathy: {IETESTCD: EXCL04}
        Malignancy: {IETESTCD: EXCL05}
"""

MH_SPEC = """domain: MH
relative_timing: true
sources:
  - source: medhist
    subject: Subject No.
    variables:
      MHTERM: {copy: Condition}
      MHSTDTC: {date: {column: Onset, format: dd/mm/yyyy}}
      MHENDTC: {date: {column: Resolved, format: dd/mm/yyyy}}
"""

# onset and end against subject 001's reference period, 2021-06-21 (first dose) to
# 2021-12-16 (last visit): worked by hand
MEDHIST = """Subject No.,Condition,Onset,Resolved
001,Appendicitis,UN/UN/2001,UN/UN/2001
001,Migraine,UN/06/2021,
001,Urinary tract infection,02/08/2021,20/08/2021
001,Back pain,01/12/2021,UN/01/2022
001,Fatigue,UN/UN/2021,UN/12/2021
"""
# (SDTMIG 3.4 MH has MHENRF and no MHSTRF: the start gets none)
MH_EXPECTED = [
    ("Appendicitis", None, "BEFORE"),
    ("Migraine", None, None),
    ("Urinary tract infection", None, "DURING"),
    ("Back pain", None, "AFTER"),
    ("Fatigue", None, "DURING/AFTER"),
]


STUDY_DATASETS = """
study_datasets:
  TD:
    - {TDORDER: 1, TDANCVAR: RFXSTDTC, TDSTOFF: P0D, TDTGTPAI: P12W, TDMINPAI: P11W,
       TDMAXPAI: P13W, TDNUMRPT: 2}
  TM:
    - {MIDSTYPE: RELAPSE, TMDEF: New or worsening symptoms over 24 hours, TMRPT: "Y"}
  OI:
    - {NHOID: EBV, OISEQ: 1, OIPARMCD: SPCIES, OIPARM: Species, OIVAL: HUMAN GAMMAHERPESVIRUS 4}
"""


def _rows(out: Path, dataset: str) -> list[dict]:
    data = json.loads((out / "sdtm" / f"{dataset}.json").read_text())
    names = [c["name"] for c in data["columns"]]
    return [dict(zip(names, row, strict=True)) for row in data["rows"]]


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("special")
    study = copy_study(tmp)
    raw = study / "raw"
    # a missed second dose for subject 001, with its reason
    infusion = (raw / "infusion.csv").read_text().splitlines()
    rows = [infusion[0] + ",Given,Reason not given"]
    rows += [line + ",Y," for line in infusion[1:]]
    rows.append("001,M1,19/07/2021,,,,64.0,IV,,N,Subject had a fever")
    (raw / "infusion.csv").write_text("\n".join(rows) + "\n")
    # 003 fails an inclusion criterion (on rituximab: N) and meets an exclusion (malignancy)
    replace_in(
        raw / "eligibility.csv",
        "003,16/06/2021,Y,Y,Y,Y,N,N,N,N,N",
        "003,16/06/2021,Y,Y,N,Y,N,N,N,N,Y",
    )
    (raw / "medhist.csv").write_text(MEDHIST)
    (study / "mappings" / "ec.yaml").write_text(EC_SPEC)
    (study / "mappings" / "ie.yaml").write_text(IE_SPEC)
    (study / "mappings" / "mh.yaml").write_text(MH_SPEC)
    replace_in(
        study / "study.yaml",
        "domains: [dm.yaml, ae.yaml, cm.yaml, ex.yaml,",
        "domains: [dm.yaml, ae.yaml, cm.yaml, ec.yaml, ie.yaml, mh.yaml,",
    )
    replace_in(
        study / "study.yaml",
        "  - {name: infusion, file: raw/infusion.csv}",
        "  - {name: infusion, file: raw/infusion.csv}\n"
        "  - {name: eligibility, file: raw/eligibility.csv}\n"
        "  - {name: medhist, file: raw/medhist.csv}",
    )
    with (study / "study.yaml").open("a") as handle:
        handle.write(STUDY_DATASETS)
    out = tmp / "out"
    result = run_cli("convert", study, "--out", out, "--format", "xpt,json")
    assert result.exit_code == 0, result.output
    return study, out, result.output


def test_ex_holds_the_doses_given_and_ec_every_dose(extended: tuple[Path, Path, str]) -> None:
    _, out, _ = extended
    ec, ex = _rows(out, "ec"), _rows(out, "ex")
    assert len(ec) == 6 and len(ex) == 5
    missed = [r for r in ec if r["ECOCCUR"] == "N"]
    assert [(m["USUBJID"], m["ECREASOC"], m["ECDOSE"]) for m in missed] == [
        ("PLMSC-SPMS-01-001", "Subject had a fever", None)
    ]
    assert {(r["USUBJID"], r["EXSTDTC"], r["EXDOSE"]) for r in ex} == {
        ("PLMSC-SPMS-01-001", "2021-06-21T10:15", 1),
        ("PLMSC-SPMS-01-002", "2021-06-22T09:40", 1),
        ("PLMSC-SPMS-02-003", "2021-06-24T11:05", 1),
        ("PLMSC-SPMS-02-004", "2021-06-28T10:30", 1),
        ("PLMSC-SPMS-01-005", "2021-06-30T09:50", 1),
    }
    # 001's EC records in order: the dose (link 1), the missed one (link 2)
    assert [(r["ECLNKID"], r["ECOCCUR"]) for r in ec if r["USUBJID"].endswith("001")] == [
        ("1", "Y"),
        ("2", "N"),
    ]
    assert {r["EXLNKID"] for r in ex} == {"1"}


def test_relrec_links_each_ex_record_to_its_ec_record(extended: tuple[Path, Path, str]) -> None:
    _, out, _ = extended
    relrec = [r for r in _rows(out, "relrec") if r["RDOMAIN"] in ("EC", "EX")]
    assert len(relrec) == 10  # five pairs
    pairs = {}
    for r in relrec:
        pairs.setdefault((r["USUBJID"], r["RELID"]), set()).add((r["RDOMAIN"], r["IDVAR"]))
    assert set(map(frozenset, pairs.values())) == {frozenset({("EC", "ECSEQ"), ("EX", "EXSEQ")})}


def test_the_missed_dose_is_counted_not_lost(extended: tuple[Path, Path, str]) -> None:
    _, out, output = extended
    with (out / "reconciliation.csv").open(newline="") as handle:
        derived = [
            (r["domain"], r["notes"]) for r in csv.DictReader(handle) if r["source"] == "(derived)"
        ]
    assert derived == [
        ("EC", "1 EC records of doses not given (ECOCCUR N or scheduled) are not in EX"),
        (
            "IE",
            "43 criteria answered as the protocol wants (inclusion met, exclusion not met) are "
            "not submitted: IE holds only the exceptions",
        ),
    ]
    assert "; 2 notes on records derivations left out" in output


def test_ie_holds_the_exceptions_named_by_the_criteria(extended: tuple[Path, Path, str]) -> None:
    """5 subjects x 9 criteria = 45 answers; 003's INCL03 = N and EXCL05 = Y are the two
    exceptions, named and categorised from study.yaml's criteria."""
    _, out, _ = extended
    ie = _rows(out, "ie")
    assert [
        (r["USUBJID"], r["IETESTCD"], r["IETEST"], r["IECAT"], r["IEORRES"], r["IESTRESC"])
        for r in ie
    ] == [
        ("PLMSC-SPMS-02-003", "EXCL05", "Malignancy", "EXCLUSION", "Y", "Y"),
        ("PLMSC-SPMS-02-003", "INCL03", "Currently treated with rituximab", "INCLUSION", "N", "N"),
    ]


def test_mh_is_timed_against_the_reference_period(extended: tuple[Path, Path, str]) -> None:
    _, out, _ = extended
    mh = _rows(out, "mh")
    got = [(r["MHTERM"], r.get("MHSTRF"), r.get("MHENRF")) for r in mh]
    assert sorted(got) == sorted(MH_EXPECTED)


def test_the_package_validates_with_an_xsd_valid_define(extended: tuple[Path, Path, str]) -> None:
    _, out, _ = extended
    assert define_xml.validate((out / "sdtm" / "define.xml").read_bytes()) == []
    result = run_cli("validate", out / "sdtm", "--out", out / "revalidated")
    assert result.exit_code == 0, result.output


def test_datasets_of_no_subject_are_written_as_study_yaml_gives_them(
    extended: tuple[Path, Path, str],
) -> None:
    _, out, _ = extended
    study = {"STUDYID": "PLMSC-SPMS"}
    assert _rows(out, "td") == [
        {**study, "DOMAIN": "TD", "TDORDER": 1, "TDANCVAR": "RFXSTDTC", "TDSTOFF": "P0D"}
        | {"TDTGTPAI": "P12W", "TDMINPAI": "P11W", "TDMAXPAI": "P13W", "TDNUMRPT": 2}
    ]
    assert _rows(out, "tm") == [
        {**study, "DOMAIN": "TM", "MIDSTYPE": "RELAPSE"}
        | {"TMDEF": "New or worsening symptoms over 24 hours", "TMRPT": "Y"}
    ]
    assert _rows(out, "oi") == [
        {**study, "DOMAIN": "OI", "NHOID": "EBV", "OISEQ": 1, "OIPARMCD": "SPCIES"}
        | {"OIPARM": "Species", "OIVAL": "HUMAN GAMMAHERPESVIRUS 4"}
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("TI: [{IETESTCD: X}]", "TI is built from 'criteria'; give its content there"),
        (
            "DM: [{SUBJID: '1'}]",
            "DM holds subjects' records: map it with a spec listed in 'domains'",
        ),
        ("ZZ: [{ZZX: '1'}]", "'ZZ' is no SDTMIG 3.4 dataset"),
        ("TM: []", "TM has no rows; give them, or leave TM out"),
        (
            "TM: [{MIDSTYPE: R, TMDEF: D, TMRPT: N, TMX: '1'}]",
            "TM row 1: 'TMX' is no variable of TM; its variables are MIDSTYPE, TMDEF, TMRPT",
        ),
        ("TM: [{MIDSTYPE: R, TMRPT: N}]", "TM row 1: TMDEF (Req) has no value; give it"),
        (
            "TD: [{TDORDER: first, TDANCVAR: A, TDSTOFF: P0D, TDTGTPAI: P1W, TDMINPAI: P1W, "
            "TDMAXPAI: P1W, TDNUMRPT: 1}]",
            "TD row 1: TDORDER is numeric, 'first' is not a number",
        ),
    ],
)
def test_a_wrong_study_dataset_is_refused(tmp_path: Path, rows: str, message: str) -> None:
    study = copy_study(tmp_path)
    text = (study / "study.yaml").read_text()
    line = text.count("\n") + 2  # the study_datasets key, after a blank line
    (study / "study.yaml").write_text(f"{text}\nstudy_datasets:\n  {rows}\n")
    fails_with(
        study,
        tmp_path,
        f"study.yaml:{line}: study_datasets: {message}; see docs/mapping-language.md",
    )


def test_derive_ex_on_another_domain_is_refused(tmp_path: Path) -> None:
    study = copy_study(tmp_path)
    replace_in(study / "mappings" / "cm.yaml", "domain: CM\n", "domain: CM\nderive_ex: true\n")
    fails_with(
        study,
        tmp_path,
        "mappings/cm.yaml: derive_ex is set on CM: EX is derived from EC only; remove "
        "derive_ex from this spec",
    )


def test_relative_timing_where_the_domain_has_no_such_variables_is_refused(tmp_path: Path) -> None:
    study = copy_study(tmp_path)
    replace_in(
        study / "mappings" / "lb.yaml", "domain: LB\n", "domain: LB\nrelative_timing: true\n"
    )
    fails_with(
        study,
        tmp_path,
        "mappings/lb.yaml: relative_timing is set on LB, which has neither LBSTRF nor LBENRF; "
        "remove relative_timing from this spec (it is for Events and Interventions)",
    )


FA_SPEC = """domain: FA
supplemental:
  FAINFREL: {label: Infusion Related, origin: Collected}
sources:
  - source: adverse_events
    subject: Subject No.
    variables:
      FATESTCD: {constant: SEV}
      FATEST: {constant: Severity/Intensity}
      FAOBJ: {copy: MedDRA PT}
      FAORRES:
        recode:
          column: "Severity (1=Mild 2=Moderate 3=Severe)"
          map: {"1": MILD, "2": MODERATE, "3": SEVERE}
      FADTC: {date: {column: Start date, format: dd/mm/yyyy}}
      FAINFREL: {copy: Infusion related}
"""

XB_SPEC = """domain: XB
class: Findings
label: Bespoke Scores
supplemental:
  XBASSESS: {label: Assessor, origin: Collected}
sources:
  - source: edss
    subject: Subject No.
    variables:
      XBTESTCD: {constant: EDSS}
      XBTEST: {constant: EDSS Score}
      XBORRES: {copy: EDSS score}
      XBDTC: {date: {column: Assessment date, format: dd/mm/yyyy}}
      XBASSESS: {constant: NEUROLOGIST}
"""


def test_findings_about_and_supplemental_qualifiers_on_any_parent(tmp_path: Path) -> None:
    """FA about each adverse event's severity with a SUPPFA qualifier, and a sponsor-defined
    XB with SUPPXB: the adverse events and EDSS rows of the raw files, one SUPP record each."""
    study = copy_study(tmp_path)
    (study / "mappings" / "fa.yaml").write_text(FA_SPEC)
    (study / "mappings" / "xb.yaml").write_text(XB_SPEC)
    replace_in(study / "study.yaml", "nv.yaml, vs.yaml]", "nv.yaml, vs.yaml, fa.yaml, xb.yaml]")
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    with (study / "raw" / "adverse_events.csv").open(newline="") as handle:
        events = list(csv.DictReader(handle))
    with (study / "raw" / "edss.csv").open(newline="") as handle:
        scores = list(csv.DictReader(handle))
    fa, suppfa = _rows(out, "fa"), _rows(out, "suppfa")
    assert sorted((r["FAOBJ"], r["FAORRES"]) for r in fa) == sorted(
        (e["MedDRA PT"], {"1": "MILD", "2": "MODERATE", "3": "SEVERE"}[e[SEVERITY]]) for e in events
    )
    assert len(suppfa) == len(events)
    assert {(r["RDOMAIN"], r["IDVAR"], r["QNAM"]) for r in suppfa} == {("FA", "FASEQ", "FAINFREL")}
    suppxb = _rows(out, "suppxb")
    assert len(suppxb) == len(scores)
    assert {(r["RDOMAIN"], r["IDVAR"], r["QNAM"], r["QVAL"]) for r in suppxb} == {
        ("XB", "XBSEQ", "XBASSESS", "NEUROLOGIST")
    }
    assert define_xml.validate((out / "sdtm" / "define.xml").read_bytes()) == []


SEVERITY = "Severity (1=Mild 2=Moderate 3=Severe)"


def test_ex_both_derived_from_ec_and_mapped_is_refused(tmp_path: Path) -> None:
    study = copy_study(tmp_path)
    spec = EC_SPEC.replace("      ECOCCUR: {copy: Given}\n", "").replace(
        "      ECREASOC: {copy: Reason not given}\n", ""
    )
    (study / "mappings" / "ec.yaml").write_text(spec)
    replace_in(study / "study.yaml", "ex.yaml,", "ex.yaml, ec.yaml,")
    fails_with(
        study,
        tmp_path,
        "mappings/ex.yaml: EX is derived from EC (derive_ex) and mapped by a spec as well; "
        "remove the EX spec from 'domains', or derive_ex from the EC spec",
    )
