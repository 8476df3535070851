"""`make fuzz`: every target (or the ones named) for a fixed time each, one after another on
one core, each in a worker process (`fuzz.worker`) that is started again when libFuzzer stops
it on a slow input or the memory bound. Prints per target the inputs run, the seconds, the
findings and the slowest input, and writes build/fuzz/summary.json; every run is appended to
build/fuzz/history.jsonl.

Per target, build/fuzz/<target>/ holds corpus/ (kept between runs: what the fuzzer learned),
seeds/ and dict (made afresh), and this run's findings: <kind>-<hash>.bin and .txt from the
harness (see `harness`), and timeout-<sha1>, oom-<sha1> or crash-<sha1> from libFuzzer (a
slow input, an input past the memory bound, a fatal signal), each with a .txt of the log's
end."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Target
from fuzz.targets import TARGETS
from fuzz.worker import read_count

ROOT = Path(__file__).resolve().parents[1]
STOPS = re.compile(r"^(timeout|oom|crash|leak|slow-unit)-[0-9a-f]{40}$")
OWN = re.compile(r"^(crash|line|hidden)-[0-9a-f]{10}\.(bin|txt)$")
QUICK_STOP = 10.0  # a worker stopped this soon after starting, three times running: give up


@dataclass
class Result:
    target: str
    execs: int = 0
    seconds: float = 0.0
    budget: int = 0
    findings: list[dict[str, str]] = field(default_factory=list)
    stops: list[dict[str, str]] = field(default_factory=list)
    slowest: float = 0.0
    failed: str = ""
    commit: str = ""  # the code fuzzed: HEAD when the target started (+ if trialbridge/ had edits)

    @property
    def found(self) -> int:
        return len(self.findings) + len(self.stops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("targets", nargs="*", help=f"default: all ({', '.join(TARGETS)})")
    default_seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    parser.add_argument("--seconds", type=int, default=default_seconds, help="per target")
    parser.add_argument("--timeout", type=int, default=2, help="seconds one input may take")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="the worker's memory bound")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz")
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    names = args.targets or list(TARGETS)
    print(f"fuzz: making seeds from the fixtures in {args.out / 'material'}", flush=True)
    made = material.make(args.out / "material")
    results = []
    for name in names:
        print(f"fuzz: {name} for {args.seconds} s", flush=True)
        result = run_target(name, made, args)
        results.append(result)
        print(f"      {_row(result)}", flush=True)
    _report(results, args.out)
    return 1 if any(r.found or r.failed for r in results) else 0


def run_target(name: str, made: Path, args: argparse.Namespace) -> Result:
    state = args.out / name
    target = _prepare_state(name, state, made)
    result = Result(name, budget=args.seconds, commit=_commit())
    started = time.monotonic()
    deadline = started + args.seconds
    quick = 0
    while (remaining := deadline - time.monotonic()) >= 1:
        shutil.rmtree(state / "work", ignore_errors=True)
        before = _stop_files(state)
        began = time.monotonic()
        code, log = _work(name, state, made, target, int(remaining), args)
        after = _stop_files(state)
        new = sorted(p for p, stamp in after.items() if before.get(p) != stamp)
        if code == 0:
            break
        if not new:
            result.failed = f"worker exited with {code}; see {log}"
            break
        for path in new:
            result.stops.append(_stop(path, log))
            # the corpus keeps inputs by their SHA-1, as libFuzzer names the stop: a slow input
            # kept there would stop every restarted worker at once
            (state / "corpus" / path.name.rsplit("-", 1)[1]).unlink(missing_ok=True)
        quick = quick + 1 if time.monotonic() - began < QUICK_STOP else 0
        if quick >= 3:
            result.failed = f"the worker stopped three times just after starting; see {log}"
            break
    result.seconds = round(time.monotonic() - started, 1)
    result.execs = read_count(state / "execs")
    result.findings = _harness_findings(state)
    slowest = state / "slowest.txt"
    result.slowest = float(slowest.read_text()) if slowest.exists() else 0.0
    shutil.rmtree(state / "work", ignore_errors=True)
    return result


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout

    edited = git("status", "--porcelain", "--", "trialbridge").strip()
    return git("rev-parse", "--short", "HEAD").strip() + ("+" if edited else "")


def _prepare_state(name: str, state: Path, made: Path) -> Target:
    """The target's folder with this run's seeds and dictionary, its earlier findings gone
    (its corpus kept)."""
    from importlib import import_module

    target: Target = import_module(f"fuzz.targets.{TARGETS[name].module}").TARGET
    state.mkdir(parents=True, exist_ok=True)
    for path in state.iterdir():
        if path.is_file() and (
            STOPS.match(path.stem)
            or OWN.match(path.name)
            or path.stem in ("found", "execs", "slowest", "dict")
            or path.name.startswith("log-")
        ):
            path.unlink()
    shutil.rmtree(state / "seeds", ignore_errors=True)
    (state / "seeds").mkdir()
    (state / "corpus").mkdir(exist_ok=True)
    seeds = target.seeds(made)
    for seed_name, data in seeds.items():
        (state / "seeds" / seed_name).write_bytes(data)
    found = target.harvest(seeds.values()) if target.harvest else set()
    (state / "dict").write_text(tokens.dictionary([*target.tokens, *found]), encoding="ascii")
    return target


def _work(
    name: str, state: Path, made: Path, target: Target, seconds: int, args: argparse.Namespace
) -> tuple[int, Path]:
    number = len(list(state.glob("log-*.txt"))) + 1
    log = state / f"log-{number}.txt"
    command = [
        sys.executable, "-m", "fuzz.worker", name, str(state), str(made), "--",
        str(state / "corpus"), str(state / "seeds"),
        f"-max_total_time={seconds}",
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.rss_limit_mb}",
        f"-max_len={target.max_len}",
        f"-dict={state / 'dict'}",
        f"-artifact_prefix={state}/",
        "-print_final_stats=1",
    ]  # fmt: skip
    with log.open("wb") as handle:
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT).returncode
    return code, log


def _stop_files(state: Path) -> dict[Path, int]:
    """libFuzzer's stop files and when each was written (a stop on an input already kept
    rewrites its file)."""
    return {p: p.stat().st_mtime_ns for p in state.iterdir() if STOPS.match(p.name)}


def _stop(path: Path, log: Path) -> dict[str, str]:
    """A libFuzzer stop: its kind, the input kept, and where the Python stack stood."""
    text = log.read_text(encoding="utf-8", errors="replace")
    tail = text[max(text.rfind("==") - 4000, 0) if "==" in text else -4000 :]
    path.with_name(path.name + ".txt").write_text(tail, encoding="utf-8")
    frames = re.findall(r'File "([^"]+)", line (\d+)', tail)
    ours = [f"{Path(f).name}:{n}" for f, n in frames if "/trialbridge/" in f]
    kind = path.name.split("-", 1)[0]
    size = str(path.stat().st_size)
    return {"kind": kind, "file": path.name, "at": ours[-1] if ours else "", "size": size}


def _harness_findings(state: Path) -> list[dict[str, str]]:
    found = state / "found.jsonl"
    if not found.exists():
        return []
    return [json.loads(line) for line in found.read_text(encoding="utf-8").splitlines()]


def _row(result: Result) -> str:
    kinds = [f["kind"] for f in result.findings] + [s["kind"] for s in result.stops]
    counted = ", ".join(f"{kinds.count(k)} {k}" for k in sorted(set(kinds))) or "none"
    failed = f"  FAILED: {result.failed}" if result.failed else ""
    return (
        f"{result.target:<20} {result.execs:>10,} execs {result.seconds:>8.1f} s"
        f"  slowest {result.slowest:.2f} s  findings: {counted}{failed}"
    )


def _report(results: list[Result], out: Path) -> None:
    print()
    print(f"{'target':<20} {'execs':>10} {'seconds':>8} {'findings':>8} {'slowest s':>9}")
    for r in results:
        print(f"{r.target:<20} {r.execs:>10,} {r.seconds:>8.1f} {r.found:>8} {r.slowest:>9.2f}")
    for r in results:
        for finding in r.findings:
            print(f"  {r.target}: {finding['kind']}: {finding['summary'][:150]}")
            print(f"      input: {out / r.target / finding['file']}.bin")
        for stop in r.stops:
            at = f" at {stop['at']}" if stop["at"] else ""
            print(f"  {r.target}: {stop['kind']}{at}; input: {out / r.target / stop['file']}")
        if r.failed:
            print(f"  {r.target}: FAILED: {r.failed}")
    when = datetime.now(UTC).isoformat(timespec="seconds")
    records = [{"date": when, **asdict(r)} for r in results]
    (out / "summary.json").write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    with (out / "history.jsonl").open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
