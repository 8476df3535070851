"""`make fuzz`'s judge and targets, without the fuzzer: what the harness calls a finding, and
every target's seeds read cleanly or refused with one clean line (a seed that gave a finding
would hide the findings the fuzzer makes from it)."""

from __future__ import annotations

import argparse
import importlib
import os
import warnings
from pathlib import Path

import pytest

from fuzz import harness, material, runner
from fuzz.target import Feed
from fuzz.targets import TARGETS
from tests.helpers import ROOT
from trialbridge.errors import UserError, report


def _raise(exc: BaseException) -> Feed:
    def feed(data: bytes) -> None:
        raise exc

    return feed


def test_an_exception_other_than_a_user_error_is_a_crash():
    finding = harness.check(_raise(KeyError("RFSTDTC")), b"")
    assert finding is not None
    assert finding.kind == "crash"
    assert finding.signature.startswith("KeyError at test_fuzz_targets.py:")
    assert finding.summary == "KeyError: 'RFSTDTC'"


def test_a_clean_user_error_passes_and_a_dirty_line_is_a_finding():
    assert harness.check(_raise(UserError("no DM", "study.yaml", "map DM")), b"") is None
    assert harness.check(lambda data: None, b"") is None
    control = harness.check(_raise(UserError("value 'a\x7fb'", "raw/x.csv", "fix it")), b"")
    assert control is not None and control.kind == "line"
    assert control.summary.startswith("with a control character: ")
    long = harness.check(_raise(UserError("x" * 1_001, "raw/x.csv", "fix it")), b"")
    assert long is not None and long.summary.startswith("too long: ")


def test_an_exception_behind_gathered_problems_is_hidden():
    def feed(data: bytes) -> None:
        report(UserError("'30/02' is no date", "raw/ae.csv", "correct it", row=3))
        raise TypeError("a bad value let through")

    finding = harness.check(feed, b"")
    assert finding is not None
    assert (finding.kind, finding.summary) == ("hidden", "TypeError: a bad value let through")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return material.make(tmp_path_factory.mktemp("material"))


@pytest.mark.parametrize("name", list(TARGETS))
def test_every_seed_of_a_target_gives_no_finding(name: str, made: Path, tmp_path: Path):
    target = importlib.import_module(f"fuzz.targets.{TARGETS[name].module}").TARGET
    seeds = target.seeds(made)
    assert len(seeds) >= 3, "a target starts from several inputs"
    feed = target.prepare(tmp_path, made)
    found = {seed: harness.check(feed, data) for seed, data in seeds.items()}
    assert {seed: f.summary for seed, f in found.items() if f is not None} == {}


def test_a_warning_is_a_finding_and_bad_lines_differ_by_message():
    def warns(data: bytes) -> None:
        warnings.warn("filling with text will raise", FutureWarning, stacklevel=1)

    finding = harness.check(warns, b"")
    assert finding is not None and finding.kind == "crash"
    assert finding.summary == "FutureWarning: filling with text will raise"

    def gathered(what: str, file: str) -> Feed:
        def feed(data: bytes) -> None:
            report(UserError(what, file, "fix it", file=file, row=2))
            report(UserError("another", file, "fix it", file=file, row=3))

        return feed

    one = harness.check(gathered("value 'a\x7f' is bad", "raw/a.csv"), b"")
    same = harness.check(gathered("value 'b\x01c' is bad", "raw/b.csv"), b"")
    other = harness.check(gathered("name 'a\x7f' unknown", "define.xml"), b"")
    assert one is not None and same is not None and other is not None
    assert one.signature == same.signature == "line with a control character: .csv: value _ is bad"
    assert other.signature != one.signature


def test_a_stop_is_recorded_and_its_input_leaves_the_corpus(
    made: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """libFuzzer stops the worker on a slow input (timeout-<sha1>); the runner records the
    stop with the Python frame it stood in, takes the input out of the corpus (else every
    restarted worker would stop on it at once) and goes on. A stop file rewritten by a later
    worker counts again."""
    sha = "ab" * 20
    calls: list[int] = []

    def work(name, state, made_, target, seconds, args):
        calls.append(seconds)
        log = state / f"log-{len(calls)}.txt"
        if len(calls) in (1, 2):  # the same slow input, twice
            (state / "corpus" / sha).write_bytes(b"slow")
            (state / f"timeout-{sha}").write_bytes(b"slow")
            os.utime(state / f"timeout-{sha}", ns=(len(calls), len(calls)))
            text = f'==1== ERROR: libFuzzer: timeout\n  File "{ROOT}/trialbridge/a.py", line 3\n'
            log.write_text(text + f'  File "{ROOT}/trialbridge/b.py", line 9\n')
            return 1, log
        log.write_text("done\n")
        return 0, log

    monkeypatch.setattr(runner, "_work", work)
    args = argparse.Namespace(seconds=30, out=tmp_path, timeout=2, rss_limit_mb=2048)
    result = runner.run_target("csv", made, args)
    assert len(calls) == 3 and result.failed == ""
    assert [(s["kind"], s["file"], s["at"]) for s in result.stops] == [
        ("timeout", f"timeout-{sha}", "b.py:9"),
        ("timeout", f"timeout-{sha}", "b.py:9"),
    ]
    assert not (tmp_path / "csv" / "corpus" / sha).exists()
