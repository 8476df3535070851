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


def scaled(rows: int) -> dict[str, Dataset]:
    with tempfile.TemporaryDirectory() as folder:
        api.convert(STUDY, Path(folder))
        base = read_folder(Path(folder) / "sdtm")
    lb, dm = base["LB"], base["DM"]
    repeats = -(-rows // len(lb.frame))
    frame = pd.concat([lb.frame] * repeats, ignore_index=True).iloc[:rows].copy()
    subject = np.arange(rows) // PER_SUBJECT
    names = pd.Series([f"BENCH-{i:06d}" for i in range(subject.max() + 1)], dtype="str")
    frame["USUBJID"] = names.to_numpy()[subject]
    frame["LBSEQ"] = (np.arange(rows) % PER_SUBJECT + 1).astype("float64")
    subjects = pd.concat([dm.frame.iloc[[0]]] * len(names), ignore_index=True)
    subjects["USUBJID"] = names.to_numpy()
    no_lineage = pd.DataFrame(index=range(0), columns=lb.lineage.columns)
    return {
        "DM": replace(dm, frame=subjects, lineage=no_lineage),
        "LB": replace(lb, frame=frame, lineage=no_lineage),
    }


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
