"""Hostile inputs refused at once: the bad-input corpus's cases of resource bounds (alias and
entity bombs, deep nesting, huge lines, values, headers and counts, zip bombs), each run as
its test runs it (the CLI in-process over a copy of its base input) and timed from the
command's start to its one line.

Bounds are checked before the memory or time an input would cost is spent, so each is
refused in well under a second; the run fails when one takes longer than LIMIT. Prints the
seconds per case and the peak memory of the process; writes build/bench/hostile.json."""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import yaml

from tests.corpus.test_corpus import CASES, fill, make_bases, prepare
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1.0  # seconds from the command's start to its one line
BOUNDS = {
    "study_yaml": ("alias-bomb", "alias-self-reference", "deep-flow-nesting", "huge-file"),
    "spec": ("spec-alias-bomb", "nested-when-too-deep"),
    "csv": ("value-too-large", "line-too-long", "header-too-wide"),
    "xlsx": ("zip-bomb", "declared-huge", "entity-bomb-in-part"),
    "odm": ("entity-expansion-bomb", "long-prolog", "deep-nesting", "huge-attribute"),
    "xpt": ("count-oversized",),
    "datasetjson": ("nested-too-deep", "too-many-columns"),
    "define": ("billion-laughs", "nested-too-deep"),
    "fhir": ("ndjson-line-too-long", "ndjson-nested-past-the-json-reader"),
    "fhir_server": ("manifest-deep-nesting",),
}


def _cases() -> list[tuple[str, dict]]:
    found = []
    for kind, ids in BOUNDS.items():
        cases = {c["id"]: c for c in yaml.safe_load((CASES / f"{kind}.yaml").read_text())}
        found += [(f"{kind}:{case_id}", cases[case_id]) for case_id in ids]
    return found


def _timed(case: dict, bases: dict[str, Path], scratch: Path) -> tuple[float, str]:
    folder, out = prepare(case, bases, scratch)
    paths = {"{in}": str(folder), "{out}": str(out), "{tmp}": str(scratch)}
    started = time.perf_counter()
    result = run_cli(*[fill(str(a), paths) for a in case["run"]])
    seconds = time.perf_counter() - started
    expected = fill(case["line"], paths) + "\n"
    assert result.exit_code == case.get("exit", 2) and result.stderr == expected, result.output
    return seconds, result.stderr.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "hostile.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        bases = make_bases(Path(work) / "bases")
        for number, (name, case) in enumerate(_cases()):
            scratch = Path(work) / f"case-{number}"
            scratch.mkdir()
            seconds, _ = _timed(case, bases, scratch)
            results[name] = round(seconds, 3)
            print(f"  {name:50} {seconds:6.3f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    slowest = max(results, key=results.__getitem__)
    print(f"hostile inputs: {len(results)}; slowest {slowest} {results[slowest]:.3f} s")
    print(f"peak memory of the process: {peak} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seconds": results, "peak_mb": peak}, indent=2) + "\n")
    over = {name: s for name, s in results.items() if s > LIMIT}
    if over:
        raise SystemExit(f"refused slower than {LIMIT} s: {over}")


if __name__ == "__main__":
    main()
