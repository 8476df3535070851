"""Cut a finding's input down to what it takes: `python -m fuzz.minimize TARGET FILE
[--seconds N]` removes ever smaller runs of bytes while the input still gives the same
finding (the signature `harness.check` gives it) and writes FILE.min beside it.

libFuzzer's own -minimize_crash needs the input to stop the process; the harness keeps
fuzzing past a finding instead, so the cut is done here, with the same feed."""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from pathlib import Path

from fuzz import harness, material
from fuzz.target import Feed
from fuzz.targets import TARGETS


def minimize(feed: Feed, data: bytes, deadline: float) -> bytes:
    """The shortest input found (by removing runs of bytes) with the finding of `data`."""
    wanted = _signature(feed, data)
    if wanted is None:
        raise SystemExit("the input gives no finding")
    size = max(len(data) // 2, 1)
    while size >= 1 and time.monotonic() < deadline:
        start, cut = 0, False
        while start < len(data) and time.monotonic() < deadline:
            smaller = data[:start] + data[start + size :]
            if smaller != data and _signature(feed, smaller) == wanted:
                data, cut = smaller, True
            else:
                start += size
        if not cut:
            size //= 2
    return data


def _signature(feed: Feed, data: bytes) -> str | None:
    finding = harness.check(feed, data)
    return None if finding is None else finding.signature


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fuzz.minimize", description=__doc__)
    parser.add_argument("target", choices=list(TARGETS))
    parser.add_argument("file", type=Path)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--material", type=Path, default=material.ROOT / "build/fuzz/material")
    args = parser.parse_args()
    module = importlib.import_module(f"fuzz.targets.{TARGETS[args.target].module}")
    data = args.file.read_bytes()
    with tempfile.TemporaryDirectory() as work:
        feed = module.TARGET.prepare(Path(work), args.material)
        print(f"{args.file}: {harness.check(feed, data)}")
        cut = minimize(feed, data, time.monotonic() + args.seconds)
        out = args.file.with_name(args.file.name + ".min")
        out.write_bytes(cut)
        print(f"{len(data)} -> {len(cut)} bytes: {out}\n{cut!r}")


if __name__ == "__main__":
    main()
