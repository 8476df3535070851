"""The second bundled study (fixtures/ascend-spms, SYNTHETIC records in a US CRO's habits):
convert and validate pass, define.xml is XSD-valid, the datasets match reviewed golden files,
and their key values agree with a recomputation from raw/*.csv made here with the csv module
alone (no trialbridge code reads the raw files in these checks)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.helpers import ROOT, assert_golden, run_cli
from trialbridge.sdtm import define_xml
from trialbridge.sdtm.define_read import read_define

STUDY = ROOT / "fixtures" / "ascend-spms"
GOLDEN = ROOT / "tests" / "golden" / "ascend-spms"
STUDYID = "ASCEND-SYNTH"
EXPECTED = [
    *("dm", "ie", "mh", "ec", "ex", "ae", "suppae", "cm", "ds", "pr", "supppr"),
    *("vs", "lb", "eg", "pe", "rs", "ft", "qs", "xi"),
    *("ts", "ta", "te", "tv", "ti", "se", "sv", "relrec"),
]
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ascend") / "out"
    result = run_cli("convert", STUDY, "--out", folder, "--format", "xpt,json")
    assert result.exit_code == 0, result.output
    assert "validation: 0 reject, 0 error," in result.output
    return folder


def raw(name: str) -> list[dict[str, str]]:
    with (STUDY / "raw" / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def rows(out: Path, name: str) -> list[dict]:
    data = json.loads((out / "sdtm" / f"{name}.json").read_text())
    names = [c["name"] for c in data["columns"]]
    return [dict(zip(names, row, strict=True)) for row in data["rows"]]


def usubjid(subject: str) -> str:
    return f"{STUDYID}-{subject}"


def dmy(text: str) -> dt.date:
    day, month, year = text.split("-")
    return dt.date(int(year), MONTHS.index(month) + 1, int(day))


def mdy(text: str) -> dt.date:
    month, day, year = text.split("/")
    return dt.date(int(year), int(month), int(day))


def significant(value: float) -> float:
    """Rounded to the 12 significant digits --STRESN keeps."""
    return float(f"{value:.12g}")


def test_convert_and_validate_pass_with_an_xsd_valid_define(out: Path):
    assert define_xml.validate((out / "sdtm" / "define.xml").read_bytes()) == []
    report = json.loads((out / "validation" / "validation.json").read_text())
    assert not [s for s in report["summary"] if s["severity"] in ("Reject", "Error")]
    result = run_cli("validate", out / "sdtm", "--out", out / "revalidated")
    assert result.exit_code == 0, result.output
    written = sorted(p.stem for p in (out / "sdtm").glob("*.xpt"))
    assert written == sorted(EXPECTED)


def test_no_finding_left_as_every_sponsor_term_is_declared(out: Path):
    report = json.loads((out / "validation" / "validation.json").read_text())
    assert report["findings"] == []
    # the ECG interpretation (NORMABNM terms) is declared on INTP's value-level item, not on
    # EGSTRESC, whose codelist is the ECG findings'
    egstresc = read_define(out / "sdtm" / "define.xml")["EG"].variable("EGSTRESC")
    assert egstresc is not None and egstresc.terms is None
    assert [(v.where, v.values, v.terms) for v in egstresc.by_value] == [
        ("EGTESTCD", ("INTP",), ("ABNORMAL", "NORMAL"))
    ]


def test_age_and_arms_recomputed_from_the_forms(out: Path):
    dm = {r["USUBJID"]: r for r in rows(out, "dm")}
    irt = {r["SUBJECT"]: r["ARMCD_UNBLINDED"] for r in raw("irt_randomization.csv")}
    for form in raw("dm.csv"):
        born, consent = mdy(form["BRTHDAT"]), dmy(form["ICDAT"])
        age = consent.year - born.year - ((consent.month, consent.day) < (born.month, born.day))
        record = dm[usubjid(form["SUBJECT"])]
        assert record["AGE"] == age, form["SUBJECT"]
        assert (record["ARMCD"] or None) == irt.get(form["SUBJECT"])
    assert Counter(r["ARMCD"] for r in dm.values()) == {"NTZ300": 12, "PLACEBO": 12, None: 1}
    failed = dm[usubjid("102-003")]
    assert failed["ARMNRS"] == "SCREEN FAILURE"
    # no reference period for a screen failure: RFENDTC empty although the form has a last contact
    assert (failed["RFSTDTC"], failed["RFENDTC"], failed["ACTARMCD"]) == (None, None, None)
    # its disposition happened before randomization, in the SCREENING epoch
    events = [r for r in rows(out, "ds") if r["DSCAT"] == "DISPOSITION EVENT"]
    assert sorted((r["USUBJID"], r["DSDECOD"], r["EPOCH"]) for r in events) == [
        (usubjid("102-003"), "SCREEN FAILURE", "SCREENING"),
        (usubjid("103-002"), "WITHDRAWAL BY SUBJECT", "TREATMENT"),
    ]


def test_ex_counts_and_doses_follow_the_infusion_log(out: Path):
    given: dict[str, list[float]] = defaultdict(list)
    for line in raw("pharmacy_infusion_log.csv"):
        if line["INFYN"] == "Yes":
            given[usubjid(line["SUBJECT"])].append(float(line["DOSE_MG"]))
    doses: dict[str, list[float]] = defaultdict(list)
    for record in sorted(rows(out, "ex"), key=lambda r: (r["USUBJID"], r["EXSTDTC"])):
        doses[record["USUBJID"]].append(record["EXDOSE"])
    assert doses == given
    assert sum(len(d) for d in doses.values()) == 142  # 24 x 6, less the withheld one and two
    assert len(doses[usubjid("103-002")]) == 5  # withdrew after infusion 5


def test_the_missed_and_the_partial_dose_in_ec(out: Path):
    ec = rows(out, "ec")
    assert len(ec) == len(raw("pharmacy_infusion_log.csv")) == 143
    missed = [r for r in ec if r["ECOCCUR"] == "N"]
    assert [(r["USUBJID"], r["ECSPID"], r["ECDOSE"], r["ECSTDTC"]) for r in missed] == [
        (usubjid("101-001"), "4", None, "2012-05-20")
    ]
    assert missed[0]["ECREASOC"] == "Withheld: serious adverse event (pyelonephritis)"
    partial = [r for r in ec if r["ECDOSE"] not in (None, 0, 300)]
    assert [(r["USUBJID"], r["ECSPID"], r["ECDOSE"]) for r in partial] == [
        (usubjid("102-001"), "5", 210)
    ]
    assert partial[0]["ECADJ"] == "Infusion stopped early: infusion site extravasation"
    assert partial[0]["ECENDTC"] == "2012-07-02T09:12"  # 42 minutes of a 60-minute bag


def test_vital_signs_in_metric_units(out: Path):
    vs = rows(out, "vs")
    expected = {}
    for form in raw("vitals.csv"):
        key = (usubjid(form["SUBJECT"]), form["VSDAT"], form["VSTIM"])
        expected[(*key, "TEMP")] = (float(form["TEMP"]) - 32) * 5 / 9
        if form["WEIGHT"]:
            expected[(*key, "WEIGHT")] = float(form["WEIGHT"]) * 0.45359237
        if form["HEIGHT"]:
            expected[(*key, "HEIGHT")] = float(form["HEIGHT"]) * 2.54
    got = {}
    for r in vs:
        if r["VSTESTCD"] in ("TEMP", "WEIGHT", "HEIGHT"):
            day, time = r["VSDTC"].split("T")
            date = dt.date.fromisoformat(day)
            key = (r["USUBJID"], f"{date.day:02d}-{MONTHS[date.month - 1]}-{date.year}", time)
            got[(*key, r["VSTESTCD"])] = r["VSSTRESN"]
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == significant(value), key
    assert {r["VSSTRESU"] for r in vs if r["VSTESTCD"] == "TEMP"} == {"C"}


def test_glucose_and_creatinine_in_si_units(out: Path):
    # mg/dL -> mg/L (x 10), then / molecular weight (g/mol): glucose 180.156, creatinine
    # 113.12 (x 88.40169731..., the 88.4017 laboratories quote)
    factor = {("GLU", "mg/dL"): 10 / 180.156, ("CREA", "mg/dL"): 10 * 1000 / 113.12}
    unit = {"GLU": "mmol/L", "CREA": "umol/L"}
    expected = {}
    for line in raw("central_lab.csv"):
        if line["TESTCODE"] in unit:
            scale = factor.get((line["TESTCODE"], line["UNITS"]), 1.0)
            key = (usubjid(line["SUBJECT"]), line["ACCESSION"], line["TESTCODE"])
            expected[key] = (float(line["RESULT"]) * scale, unit[line["TESTCODE"]])
    got = {
        (r["USUBJID"], r["LBREFID"], {"GLUC": "GLU", "CREAT": "CREA"}[r["LBTESTCD"]]): (
            r["LBSTRESN"],
            r["LBSTRESU"],
        )
        for r in rows(out, "lb")
        if r["LBTESTCD"] in ("GLUC", "CREAT")
    }
    assert got.keys() == expected.keys()
    for key, (value, si) in expected.items():
        assert got[key][1] == si
        assert math.isclose(got[key][0], value, rel_tol=1e-11), key
    # both kinds of site are there
    units = {line["UNITS"] for line in raw("central_lab.csv") if line["TESTCODE"] == "GLU"}
    assert units == {"mg/dL", "mmol/L"}


def test_msis29_subscale_totals_recomputed_from_the_items(out: Path):
    qs = rows(out, "qs")
    items = defaultdict(dict)
    totals = {}
    for r in qs:
        key = (r["USUBJID"], r["VISIT"])
        if r["QSTESTCD"] in ("MSIS01PH", "MSIS01PS"):
            totals[(*key, r["QSTESTCD"])] = r["QSSTRESN"]
            # a derived record has its result in the standard variables only
            assert (r["QSDRVFL"], r["QSORRES"], r["QSSTRESC"]) == ("Y", None, str(r["QSSTRESN"]))
        else:
            items[key][int(r["QSTESTCD"][-2:])] = r["QSSTRESN"]
    forms = raw("msis29.csv")
    assert len(items) == len(forms) == 47
    for form in forms:
        visit = {"WK00": "WEEK 0", "WK24": "WEEK 24"}[form["FOLDER"]]
        key = (usubjid(form["SUBJECT"]), visit)
        answers = [int(form[f"MSIS{n:02d}"]) for n in range(1, 30)]
        assert [items[key][n] for n in range(1, 30)] == answers
        assert totals[(*key, "MSIS01PH")] == sum(answers[:20])
        assert totals[(*key, "MSIS01PS")] == sum(answers[20:])


def test_ie_holds_the_criteria_not_met(out: Path):
    exceptions = set()
    for form in raw("ie.csv"):
        for code in ("INCL01", "INCL02", "INCL03", "INCL04", "INCL05"):
            if form[code] == "N":
                exceptions.add((usubjid(form["SUBJECT"]), code, "N"))
        for code in ("EXCL01", "EXCL02", "EXCL03", "EXCL04", "EXCL05"):
            if form[code] == "Y":
                exceptions.add((usubjid(form["SUBJECT"]), code, "Y"))
    ie = rows(out, "ie")
    assert {(r["USUBJID"], r["IETESTCD"], r["IEORRES"]) for r in ie} == exceptions
    assert exceptions == {(usubjid("102-003"), "INCL02", "N"), (usubjid("102-003"), "EXCL03", "Y")}
    assert {r["IECAT"] for r in ie} == {"INCLUSION", "EXCLUSION"}


def test_study_days_worked_by_hand(out: Path):
    # 101-001: first infusion 25 Feb 2012 (day 1); 2012 is a leap year
    ae = {(r["USUBJID"], r["AEDECOD"]): r for r in rows(out, "ae")}
    sae = ae[(usubjid("101-001"), "Pyelonephritis")]
    assert (sae["AESTDTC"], sae["AESTDY"]) == ("2012-04-28", 64)  # 4 + 31 + 28 days later
    assert (sae["AEENDTC"], sae["AEENDY"]) == ("2012-05-14", 80)
    rs = [r for r in rows(out, "rs") if r["USUBJID"] == usubjid("101-001")]
    assert [(r["RSDTC"], r["RSDY"]) for r in rs] == [
        ("2012-02-07", -18),  # screening, 18 days before day 1: no day 0
        ("2012-02-25", 1),
        ("2012-05-20", 86),
        ("2012-08-10", 168),  # 4 + 31 + 30 + 31 + 30 + 31 + 10 = 167 days later
    ]


def test_ae_soc_codes_from_the_coding_columns(out: Path):
    # the public MedDRA SOC codes, checked by hand against the SOC names
    meddra = {
        "General disorders and administration site conditions": 10018065,
        "Infections and infestations": 10021881,
        "Injury, poisoning and procedural complications": 10022117,
        "Musculoskeletal and connective tissue disorders": 10028395,
        "Nervous system disorders": 10029205,
    }
    forms = {(usubjid(f["SUBJECT"]), f["AENUM"]): f for f in raw("ae.csv")}
    ae = rows(out, "ae")
    assert len(ae) == len(forms) == 18
    for r in ae:
        form = forms[(r["USUBJID"], r["AESPID"])]
        assert r["AEBODSYS"] == r["AESOC"] == form["AESOC"]
        assert r["AEBDSYCD"] == r["AESOCCD"] == int(form["AESOCCD"]) == meddra[r["AESOC"]]


def test_the_sae_is_linked_to_the_infusion_it_followed(out: Path):
    ae, ex = rows(out, "ae"), rows(out, "ex")
    sae = [r for r in ae if r["AESER"] == "Y"]
    assert [(r["USUBJID"], r["AEDECOD"], r["AESHOSP"]) for r in sae] == [
        (usubjid("101-001"), "Pyelonephritis", "Y")
    ]
    suspected = next(line["AEINFNUM"] for line in raw("ae.csv") if line["AEPT"] == "Pyelonephritis")
    infusion = next(r for r in ex if r["USUBJID"] == sae[0]["USUBJID"] and r["EXSPID"] == suspected)
    relrec = [r for r in rows(out, "relrec") if r["USUBJID"] == sae[0]["USUBJID"]]
    by_relid = defaultdict(set)
    for r in relrec:
        by_relid[r["RELID"]].add((r["RDOMAIN"], r["IDVARVAL"]))
    pair = {("AE", str(int(sae[0]["AESEQ"]))), ("EX", str(int(infusion["EXSEQ"])))}
    assert pair in by_relid.values()
    assert infusion["EXSTDTC"] == "2012-04-22T11:00"


def test_the_generator_rewrites_the_committed_files(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("ascend_generate", STUDY / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in (STUDY / "raw").iterdir())
    for name in made:
        assert (tmp_path / name).read_bytes() == (STUDY / "raw" / name).read_bytes(), name


def golden_text(path: Path) -> str:
    frame = pyreadstat.read_xport(str(path))[0]
    return pd.DataFrame(frame).to_csv(index=False, lineterminator="\n")


def test_datasets_match_the_reviewed_golden_files(out: Path, request: pytest.FixtureRequest):
    update = request.config.getoption("--update-golden")
    for name in EXPECTED:
        assert_golden(golden_text(out / "sdtm" / f"{name}.xpt"), GOLDEN / f"{name}.csv", update)
