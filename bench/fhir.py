"""FHIR build + validation on a million-row LB: resources per second.

The LB dataset is the PLMSC study's own LB (converted from the study folder), its records
repeated over as many synthetic subjects as it takes to reach --rows, with USUBJID and LBSEQ
renumbered so every resource id is distinct. DM gets one record per subject, so every subject
reference resolves. Reports build (render every resource's JSON) and validation separately,
and writes build/bench/fhir.json."""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge import api
from trialbridge.fhir.assemble import assemble
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.read import read_folder

STUDY = Path(__file__).resolve().parent.parent / "fixtures" / "plmsc-spms"
PER_SUBJECT = 500


def scaled(rows: int, with_trial_summary: bool = False) -> dict[str, Dataset]:
    """DM with rows / PER_SUBJECT subjects and an LB of `rows` records that stay consistent:
    subject s copies base subject s mod 5 (its DM record, its lab records repeated, each
    repetition a week later with study days recomputed and baseline flags on the first)."""
    with tempfile.TemporaryDirectory() as folder:
        api.convert(STUDY, Path(folder))
        base = read_folder(Path(folder) / "sdtm")
    lb, dm = base["LB"], base["DM"]
    count = -(-rows // PER_SUBJECT)
    templates = dm.frame["USUBJID"].tolist()
    names = np.array([f"BENCH-{i:06d}" for i in range(count)], dtype=object)
    pieces = []
    for number, template in enumerate(templates):
        block = lb.frame[lb.frame["USUBJID"] == template].reset_index(drop=True)
        subjects = names[number :: len(templates)]
        within = np.arange(PER_SUBJECT)
        picked = block.iloc[np.tile(within % len(block), len(subjects))].reset_index(drop=True)
        picked["USUBJID"] = np.repeat(subjects, PER_SUBJECT)
        picked["WEEKS"] = np.tile(within // len(block), len(subjects))
        pieces.append(picked)
    frame = pd.concat(pieces, ignore_index=True)
    frame = frame.sort_values(["USUBJID"], kind="stable").iloc[:rows].reset_index(drop=True)
    frame["LBSEQ"] = (frame.groupby("USUBJID").cumcount() + 1).astype("float64")
    subjects = dm.frame.iloc[np.arange(count) % len(templates)].reset_index(drop=True)
    subjects["USUBJID"] = names
    subjects["SUBJID"] = [f"{i:06d}" for i in range(count)]
    _shift(frame, subjects)
    no_lineage = pd.DataFrame(index=range(0), columns=lb.lineage.columns)
    datasets = {
        "DM": replace(dm, frame=subjects, lineage=no_lineage),
        "LB": replace(lb, frame=frame[list(lb.frame.columns)], lineage=no_lineage),
    }
    if with_trial_summary:
        datasets["TS"] = base["TS"]
    return datasets


def _shift(frame: pd.DataFrame, subjects: pd.DataFrame) -> None:
    """Repetition k of a subject's lab records is k weeks later: new dates and study days,
    baseline flags only on the first repetition."""
    weeks = frame.pop("WEEKS").to_numpy()
    when = pd.to_datetime(frame["LBDTC"], format="%Y-%m-%dT%H:%M")
    when = when + pd.to_timedelta(weeks * 7, unit="D")
    frame["LBDTC"] = when.dt.strftime("%Y-%m-%dT%H:%M").astype("str")
    start = frame["USUBJID"].map(subjects.set_index("USUBJID")["RFSTDTC"].str[:10])
    days = (when.dt.normalize() - pd.to_datetime(start, format="%Y-%m-%d")).dt.days
    frame["LBDY"] = days.where(days < 0, days + 1).astype("float64")
    for flag in ("LBBLFL", "LBLOBXFL"):
        frame[flag] = frame[flag].where(weeks == 0)


def run(rows: int) -> dict[str, float]:
    datasets = scaled(rows)
    start = time.perf_counter()
    result = assemble(datasets)
    texts = [b.texts() for b in result.built]
    built = time.perf_counter()
    findings = result.findings()
    checked = time.perf_counter()
    if findings:
        raise SystemExit(f"benchmark data has findings: {findings[0].line()}")
    resources = sum(len(t) for t in texts)
    total = checked - start
    return {
        "lb_rows": rows,
        "resources": resources,
        "json_mb": round(sum(t.nbytes for t in texts) / 1e6, 1),
        "build_s": round(built - start, 2),
        "validate_s": round(checked - built, 2),
        "built_and_validated_per_s": round(resources / total),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("build/bench/fhir.json"))
    figures = run(parser.parse_args().rows)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key.ljust(width)}  {value:,}")
    out = parser.parse_args().out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
