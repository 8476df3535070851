"""One target under atheris: `python -m fuzz.worker TARGET STATE MATERIAL -- LIBFUZZER_ARGS`.

The project's modules (and the pure-Python parsers a target names) are imported with
coverage instrumentation; each input goes through `harness.check`. Findings are kept in STATE
and fuzzing goes on, so one run finds every distinct one; only a timeout or the memory bound
stops the worker (libFuzzer keeps that input; the runner starts the worker again). The count
of inputs run is kept in STATE/execs as it goes, exact even when libFuzzer stops the worker."""

from __future__ import annotations

import importlib
import mmap
import struct
import sys
import time
from pathlib import Path

from fuzz.targets import TARGETS


def main(argv: list[str]) -> None:
    import atheris  # here: the runner imports this module (read_count) without the fuzz extra

    name, state, material = argv[1], Path(argv[2]), Path(argv[3])
    libfuzzer_args = argv[argv.index("--") + 1 :]
    instrumented = TARGETS[name]
    with atheris.instrument_imports(include=list(instrumented.packages)):
        module = importlib.import_module(f"fuzz.targets.{instrumented.module}")
        from fuzz import harness
    target = module.TARGET
    work = state / "work"
    work.mkdir(parents=True, exist_ok=True)
    feed = target.prepare(work, material)
    findings = harness.Findings(state)
    counter = _Counter(state / "execs")
    slowest = _Slowest(state)

    def one(data: bytes) -> None:
        started = time.perf_counter()
        finding = harness.check(feed, data)
        slowest.note(time.perf_counter() - started, data)
        counter.add()
        if finding is not None and findings.keep(finding, data):
            print(f"\n== {target.name}: {finding.kind}: {finding.summary}", flush=True)

    if target.mutator is None:
        atheris.Setup([argv[0], *libfuzzer_args], one)
    else:
        atheris.Setup([argv[0], *libfuzzer_args], one, custom_mutator=target.mutator)
    atheris.Fuzz()


class _Counter:
    """Inputs run, in a file mapped into memory: exact when the worker is stopped abruptly."""

    def __init__(self, path: Path):
        if not path.exists():
            path.write_bytes(bytes(8))
        self.handle = path.open("r+b")
        self.map = mmap.mmap(self.handle.fileno(), 8)
        self.count = struct.unpack_from("<Q", self.map)[0]

    def add(self) -> None:
        self.count += 1
        struct.pack_into("<Q", self.map, 0, self.count)


class _Slowest:
    """The slowest input so far (slowest.bin) and its time in seconds (slowest.txt); the
    first inputs a worker runs pay for lazy loading (terminology, schemas), and are left out."""

    WARM_UP = 50

    def __init__(self, state: Path):
        self.data, self.text = state / "slowest.bin", state / "slowest.txt"
        self.seconds = float(self.text.read_text()) if self.text.exists() else 0.0
        self.seen = 0

    def note(self, seconds: float, data: bytes) -> None:
        self.seen += 1
        if self.seen > self.WARM_UP and seconds > self.seconds:
            self.seconds = seconds
            self.data.write_bytes(data)
            self.text.write_text(f"{seconds:.4f}")


def read_count(path: Path) -> int:
    return struct.unpack("<Q", path.read_bytes()[:8])[0] if path.exists() else 0


if __name__ == "__main__":
    main(sys.argv)
