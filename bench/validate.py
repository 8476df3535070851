"""Conformance validation of a million-row LB: every shipped rule over DM, DS, EX (2,000
subjects for a million rows), TS and LB, timed as `trialbridge validate` runs them.

The study's own datasets (PLMSC, converted from the study folder, as bench/fhir.py does) are
the template: each synthetic subject is one of the study's subjects with its DM, DS and EX
records moved by a number of days of its own, so the rules across datasets hold. LB has 500
records a subject: ten tests at fifty visits, results drawn at random in each test's units,
study days, reference ranges and baseline flags as they should be. The data is clean but for
planted defects, whose findings must come back exactly, at their records: 100 impossible
dates (TB0007), 100 repeated LBSEQ (TB0003, both records of each pair), 100 wrong study days
(TB0036) and 100 reference range indicators outside their codelist (TB0018).

Prints seconds, rows/s, the slowest rules, the findings and peak memory, and the time to
write the three reports; writes build/bench/validate.json."""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge import api
from trialbridge.conformance import engine, report_html, report_json, report_xlsx
from trialbridge.conformance.rule import shipped_rules
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.read import read_folder

STUDY = Path(__file__).resolve().parent.parent / "fixtures" / "plmsc-spms"
PER_SUBJECT = 500
PLANTED = 100


# The lab tests: results drawn around `mean` with deviation `sd` in the original unit,
# `factor` to standard units (si), the normal range (low, high) in those, and decimals (dp)
TESTS = pd.read_csv(
    io.StringIO(
        """
code|name|category|specimen|method|loinc|unit|si_unit|factor|mean|sd|low|high|dp|si_dp
HGB|Hemoglobin|HEMATOLOGY|BLOOD||718-7|g/dL|g/L|10|13.5|1.5|120|170|1|0
WBC|Leukocytes|HEMATOLOGY|BLOOD||6690-2|10^9/L|10^9/L|1|6.5|1.8|4|11|1|1
PLAT|Platelets|HEMATOLOGY|BLOOD||777-3|10^9/L|10^9/L|1|260|60|150|400|0|0
LYMLE|Lymphocytes/Leukocytes|HEMATOLOGY|BLOOD||736-9|%|%|1|30|8|20|40|1|1
NEUT|Neutrophils|HEMATOLOGY|BLOOD||751-8|10^9/L|10^9/L|1|4|1.2|2|7.5|2|2
CREAT|Creatinine|CHEMISTRY|SERUM||2160-0|mg/dL|umol/L|88.4|0.9|0.2|53|115|2|1
INTLK6|Interleukin 6|CYTOKINES|PLASMA|ELISA|26881-3|ng/L|ng/L|1|4|2|0|7|1|1
INTLK10|Interleukin 10|CYTOKINES|PLASMA|ELISA|26848-2|ng/L|ng/L|1|5|2|0|9.1|1|1
INTLK17|Interleukin 17|CYTOKINES|PLASMA|ELISA||ng/L|ng/L|1|8|3|0|20|1|1
TNF|Tumor Necrosis Factor|CYTOKINES|PLASMA|ELISA||ng/L|ng/L|1|6|2|0|8.1|1|1
"""
    ),
    sep="|",
    dtype={"low": "float64", "high": "float64"},
)
VISITS = PER_SUBJECT // len(TESTS)  # screening, day 1, then weekly


def study(rows: int) -> dict[str, Dataset]:
    """DM, DS, EX, TS and an LB of `rows` records, rounded down to whole subjects."""
    with tempfile.TemporaryDirectory() as folder:
        api.convert(STUDY, Path(folder))
        base = read_folder(Path(folder) / "sdtm")
    subjects = max(rows // PER_SUBJECT, 1)
    dm = base["DM"].frame
    template = np.arange(subjects) % len(dm)
    shift = (np.arange(subjects) * 37) % 730 - 180  # days, each subject its own
    names = np.array([f"BENCH-{i + 1:06d}" for i in range(subjects)], dtype=object)
    position = dict(zip(dm["USUBJID"], range(len(dm)), strict=True))

    def cloned(frame: pd.DataFrame) -> pd.DataFrame:
        """The template subject's records for each synthetic subject, its dates moved."""
        of = frame["USUBJID"].map(position).to_numpy()
        picks = [np.flatnonzero(of == t) for t in range(len(dm))]
        owner = np.repeat(np.arange(subjects), [len(picks[t]) for t in template])
        out = frame.iloc[np.concatenate([picks[t] for t in template])].reset_index(drop=True)
        out["USUBJID"] = names[owner]
        for column in (c for c in out.columns if c.endswith("DTC")):
            out[column] = _moved(out[column], shift[owner])
        return out

    subject_frame = cloned(dm)
    subject_frame["SUBJID"] = [f"{i + 1:06d}" for i in range(subjects)]
    completed = base["DS"].frame[base["DS"].frame["DSDECOD"].eq("COMPLETED")]
    lb = _lb(base["LB"].frame, subject_frame, np.random.default_rng(6))
    # a year of weekly visits: each subject takes part until its last LB date
    last = lb.groupby("USUBJID")["LBDTC"].max().str[:10]
    subject_frame["RFPENDTC"] = subject_frame["USUBJID"].map(last)
    return {
        "DM": _with(base["DM"], subject_frame),
        "DS": _with(base["DS"], cloned(completed.assign(DSSEQ=1.0))),
        "EX": _with(base["EX"], cloned(base["EX"].frame)),
        "TS": replace(base["TS"], source=None),
        "LB": _with(base["LB"], lb),
    }


def _with(dataset: Dataset, frame: pd.DataFrame) -> Dataset:
    lineage = pd.DataFrame(index=range(0), columns=dataset.lineage.columns)
    return replace(dataset, frame=frame, lineage=lineage, source=None)


def _moved(values: pd.Series, days: np.ndarray) -> pd.Series:
    """ISO 8601 dates moved by `days`, their time part kept."""
    dates = pd.to_datetime(values.str[:10], format="%Y-%m-%d", errors="coerce")
    moved = (dates + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
    return (moved + values.str[10:]).where(dates.notna(), values)


def _lb(template: pd.DataFrame, dm: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every test at every visit for each DM subject, in the template's columns and types."""
    subjects = len(dm)
    n = subjects * PER_SUBJECT
    subject = np.repeat(np.arange(subjects), PER_SUBJECT)
    visit = np.tile(np.repeat(np.arange(VISITS), len(TESTS)), subjects)
    test = np.tile(np.arange(len(TESTS)), subjects * VISITS)
    days = np.concatenate([[-14, 1], 1 + 7 * np.arange(1, VISITS - 1)])  # no day 0
    study_day = days[visit]
    start = pd.to_datetime(dm["RFSTDTC"].str[:10], format="%Y-%m-%d").to_numpy()
    offset = np.where(study_day > 0, study_day - 1, study_day).astype("timedelta64[D]")
    dates = pd.DatetimeIndex(start[subject] + offset).strftime("%Y-%m-%d")
    minute = rng.integers(7 * 60, 12 * 60, size=subjects * VISITS)  # one time a visit
    clock = np.array([f"T{m // 60:02d}:{m % 60:02d}" for m in minute], dtype=object)
    collected = np.asarray(dates, dtype=object) + clock[subject * VISITS + visit]

    per_record = TESTS.iloc[test].reset_index(drop=True)
    drawn = np.abs(rng.normal(per_record["mean"], per_record["sd"]))
    orres, stresc = np.empty(n, dtype=object), np.empty(n, dtype=object)
    low_text, high_text = np.empty(n, dtype=object), np.empty(n, dtype=object)
    for index, spec in enumerate(TESTS.itertuples()):
        at = test == index
        given = np.round(drawn[at], spec.dp)
        standard = np.round(given * spec.factor, spec.si_dp)
        orres[at] = [f"{v:.{spec.dp}f}" for v in given]
        stresc[at] = [f"{v:.{spec.si_dp}f}" for v in standard]
        low_text[at] = f"{spec.low / spec.factor:.{spec.dp}f}"
        high_text[at] = f"{spec.high / spec.factor:.{spec.dp}f}"
    stresn = pd.to_numeric(pd.Series(stresc)).to_numpy()
    low, high = per_record["low"].to_numpy(), per_record["high"].to_numpy()
    visit_names = np.array(
        ["SCREENING", "DAY 1"] + [f"WEEK {w}" for w in range(1, VISITS - 1)], dtype=object
    )
    treated = np.where(visit <= VISITS // 2, "TREATMENT", "FOLLOW-UP")
    baseline = np.where(visit == 1, "Y", None)
    frame = pd.DataFrame(
        {
            "STUDYID": template["STUDYID"].iat[0],
            "DOMAIN": "LB",
            "USUBJID": dm["USUBJID"].to_numpy()[subject],
            "LBSEQ": (np.arange(n) % PER_SUBJECT + 1).astype("float64"),
            "LBTESTCD": per_record["code"],
            "LBTEST": per_record["name"],
            "LBCAT": per_record["category"],
            "LBORRES": orres,
            "LBORRESU": per_record["unit"],
            "LBORNRLO": low_text,
            "LBORNRHI": high_text,
            "LBSTRESC": stresc,
            "LBSTRESN": stresn,
            "LBSTRESU": per_record["si_unit"],
            "LBSTNRLO": low,
            "LBSTNRHI": high,
            "LBNRIND": np.where(stresn < low, "LOW", np.where(stresn > high, "HIGH", "NORMAL")),
            "LBLOINC": per_record["loinc"],
            "LBSPEC": per_record["specimen"],
            "LBMETHOD": per_record["method"],
            "LBLOBXFL": baseline,
            "LBBLFL": baseline,
            "VISITNUM": (visit + 1).astype("float64"),
            "VISIT": visit_names[visit],
            "EPOCH": np.where(visit == 0, "SCREENING", treated),
            "LBDTC": collected,
            "LBDY": study_day.astype("float64"),
        }
    )
    return frame[list(template.columns)].astype(template.dtypes.to_dict())


def planted(rows: int) -> tuple[dict[str, Dataset], dict[str, set[int]]]:
    """The study with PLANTED defects of each kind in LB, spread evenly over its records;
    beside it, the records (1-based) each rule must report."""
    datasets = study(rows)
    lb = datasets["LB"]
    frame = lb.frame.copy()
    spots = np.linspace(0, len(frame) - 2, 4 * PLANTED).astype(int)
    spots -= spots % PER_SUBJECT == PER_SUBJECT - 1  # a pair stays within its subject
    dates, pairs, days, ranges = (spots[k::4] for k in range(4))
    text = frame["LBDTC"].to_numpy(dtype=object)
    text[dates] = [v[:5] + "13" + v[7:] for v in text[dates]]  # month 13
    frame["LBDTC"] = pd.array(text, dtype=frame["LBDTC"].dtype)
    sequence = frame["LBSEQ"].to_numpy().copy()
    sequence[pairs + 1] = sequence[pairs]
    frame["LBSEQ"] = sequence
    frame.loc[days, "LBDY"] += 1
    frame.loc[ranges, "LBNRIND"] = "NORM"
    datasets["LB"] = replace(lb, frame=frame)
    expected = {
        "TB0007": set(dates + 1),
        "TB0003": set(pairs + 1) | set(pairs + 2),
        "TB0036": set(days + 1),
        "TB0018": set(ranges + 1),
    }
    return datasets, expected


def run(rows: int) -> dict[str, object]:
    datasets, expected = planted(rows)
    data_rss = _peak_rss_mb()
    lb_rows = len(datasets["LB"].frame)
    terminology = shipped_terminology()
    start = time.perf_counter()
    findings = engine.run(datasets, terminology)
    total = time.perf_counter() - start
    timings: dict[str, float] = {}
    for rule in shipped_rules():
        began = time.perf_counter()
        engine.run(datasets, terminology, (rule,))
        timings[rule.id] = time.perf_counter() - began
    _check(findings, expected)
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        report_json.write(findings, Path(folder))
        report_html.write(findings, Path(folder), "trialbridge validation: benchmark")
        report_xlsx.write(findings, Path(folder), list(datasets))
        reports = time.perf_counter() - began
    slowest = sorted(timings.items(), key=lambda item: -item[1])[:10]
    return {
        "lb_rows": lb_rows,
        "subjects": len(datasets["DM"].frame),
        "rules": len(timings),
        "seconds": round(total, 2),
        "rows_per_s": round(lb_rows / total),
        "findings": len(findings),
        "findings_by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "slowest_rules_s": {rule: round(seconds, 3) for rule, seconds in slowest},
        "reports_s": round(reports, 2),
        "peak_rss_mb_data_built": data_rss,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _check(findings: list[engine.Finding], expected: dict[str, set[int]]) -> None:
    """Each planted rule reports exactly its planted LB records."""
    for rule, records in expected.items():
        found = [f.record for f in findings if f.rule == rule and f.dataset == "LB"]
        if len(found) != len(records) or set(found) != records:
            raise SystemExit(f"{rule}: {len(found)} LB findings, {len(records)} planted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("build/bench/validate.json"))
    arguments = parser.parse_args()
    if arguments.rows < 20 * PER_SUBJECT:
        parser.error(f"--rows: at least {20 * PER_SUBJECT} (room for the planted defects)")
    figures = run(arguments.rows)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) else value
        print(f"{key.ljust(width)}  {shown}")
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
