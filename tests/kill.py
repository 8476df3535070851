"""Killing a writing command at random moments: the output folder must always hold either
the earlier run's output or the new run's, complete, never a mix or a torn file."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.corpus.test_corpus import snapshot

CLI = str(Path(sys.executable).with_name("trialbridge"))


def run(*args: object, env: dict[str, str] | None = None) -> float:
    """Run the command to its end; its duration in seconds."""
    start = time.monotonic()
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, env=env)
    assert done.returncode in (0, 1), done.stderr  # validate exits 1 on Error findings
    return time.monotonic() - start


def killed_at(seconds: float, *args: object, env: dict[str, str] | None = None) -> None:
    """Start the command, SIGKILL it and its children after `seconds`."""
    child = subprocess.Popen(
        [CLI, *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    try:
        child.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def check_kills(
    out: Path,
    earlier: Path,
    command: list[object],
    kills: int,
    seed: int,
    prepare: Callable[[], None] = lambda: None,
    env: dict[str, str] | None = None,
) -> dict[str, int]:
    """`earlier` is a saved copy of the earlier output. The command, run over it at `out`,
    is killed `kills` times at moments spread over its run (stratified, seeded); after each
    kill `out` must be the earlier output or the new one. Returns how often each was found."""
    _restore(earlier, out)
    old = snapshot(out)
    prepare()
    duration = run(*command, env=env)
    new = snapshot(out)
    assert new != old, "the new run must differ from the earlier one"
    rng = random.Random(seed)
    found = {"earlier": 0, "new": 0}

    def kill(moment: float) -> None:
        _restore(earlier, out)
        prepare()
        killed_at(moment, *command, env=env)
        now = snapshot(out)
        assert now in (old, new), f"kill at {moment:.2f} s of {duration:.2f} s left a mix"
        found["earlier" if now == old else "new"] += 1

    for k in range(kills):
        kill(duration * (0.15 + 1.0 * (k + rng.random()) / kills))
    # a loaded machine runs slower or faster than the timed run: a few more kills, later or
    # earlier, until some fell on each side of the swap
    for extra in range(1, 5):
        if not found["new"]:
            kill(duration * (1.0 + 0.5 * extra))
        if not found["earlier"]:
            kill(duration * 0.5 / extra)
    _restore(earlier, out)
    prepare()
    run(*command, env=env)  # a run after kills finishes the job and sweeps what they left
    assert snapshot(out) == new
    assert not list(out.parent.glob(f".{out.name}.trialbridge-*"))
    return found


def _restore(earlier: Path, out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(earlier, out, symlinks=True)
