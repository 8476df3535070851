"""What counts as a finding, and how each is kept.

An input is fed the way a command feeds its files: inside `collecting()`, so that problems are
gathered as a run gathers them. It passes when it is read, or refused with UserError lines
that are each one clean line: not empty, no control character (they could break the line or
drive the terminal), at most MAX_LINE characters. Anything else is a finding:

- `crash`: any other exception, or a warning (the CLI would print it below its line);
- `line`: a UserError whose line is empty, holds a control character or is too long to read;
- `hidden`: an exception that `collecting()` turned into the problems gathered before it (the
  user sees those, but the exception is a bug the fuzzer found behind them).

Inputs that run past the time limit or memory bound are findings too: libFuzzer stops the
worker and keeps the input (see `runner`). Findings are told apart by a signature: the kind,
the exception type and the innermost trialbridge frame it passed through (a bad line: the kind
of file and its message without the values quoted in it). The smallest input
of each signature is kept as <kind>-<hash>.bin beside a .txt that says what it raised."""

from __future__ import annotations

import hashlib
import json
import re
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from trialbridge.errors import UserError, UserErrors, collecting

PACKAGE = str(Path(__file__).resolve().parents[1] / "trialbridge")
MAX_LINE = 1_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Finding:
    kind: str  # crash, line or hidden
    signature: str
    summary: str  # the exception or the bad line, one line
    details: str  # the traceback


def check(feed_one: object, data: bytes) -> Finding | None:
    """Feed `data` as a command would and judge the outcome."""
    try:
        with warnings.catch_warnings(), collecting():
            # a warning the CLI would print is a finding too (filters the code sets win)
            warnings.simplefilter("error", append=True)
            feed_one(data)  # type: ignore[operator]
    except UserError as error:
        return _judge_user_error(error)
    except Exception as exc:
        return _finding("crash", exc)
    return None


def _judge_user_error(error: UserError) -> Finding | None:
    hidden = error.__context__
    if _raised_by_collecting(error) and not isinstance(hidden, UserError | None):
        return _finding("hidden", hidden)
    errors = error.problems.kept if isinstance(error, UserErrors) else [error]
    for one in [error, *errors]:
        problem = _bad_line(one.line())
        if problem:
            shown = repr(one.line()[:200])
            return Finding(
                "line",
                f"line {problem}: {_template(one)}",
                f"{problem}: {shown}",
                "".join(traceback.format_exception(error)),
            )
    return None


def _template(error: UserError) -> str:
    """What a bad line says with its quoted values and numbers left out: one signature per
    message, whatever the input put in it (a gathered problem was never raised, so it has
    no traceback of its own to tell it by)."""
    what = re.sub(r"'[^']*'|\d+", "_", error.what)
    file = Path(error.parts()[0]).suffix or error.parts()[0][:20]
    return f"{file}: {what[:120]}"


def _raised_by_collecting(error: UserError) -> bool:
    """Whether `collecting()` itself raised the error (in place of the exception that is its
    context), rather than a checkpoint."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and frames[-1].name == "collecting"


def _bad_line(line: str) -> str | None:
    if not line.strip():
        return "empty"
    if _CONTROL.search(line):
        return "with a control character"
    if len(line) > MAX_LINE:
        return "too long"
    return None


def _finding(kind: str, exc: BaseException) -> Finding:
    where = _innermost(exc.__traceback__)
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    details = "".join(traceback.format_exception(exc))
    return Finding(kind, f"{type(exc).__name__} at {where}", summary, details)


def _innermost(tb: TracebackType | None) -> str:
    """`module.py:line` of the innermost trialbridge frame of a traceback (else the
    innermost frame): where the exception left the project's code."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    ours = [f for f in frames if f.filename.startswith(PACKAGE)]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    name = frame.filename.removeprefix(PACKAGE).lstrip("/") if ours else Path(frame.filename).name
    return f"{name}:{frame.lineno}"


class Findings:
    """The findings of one target in this run, kept in `folder`: the smallest input of each
    signature, and found.jsonl listing the signatures in the order they were first seen
    (read back when a worker restarts after a timeout)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.log = folder / "found.jsonl"
        self.sizes: dict[str, int] = {}
        if self.log.exists():
            for line in self.log.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                kept = folder / f"{entry['file']}.bin"
                self.sizes[entry["signature"]] = kept.stat().st_size if kept.exists() else 0

    def keep(self, finding: Finding, data: bytes) -> bool:
        """Keep `data` if its signature is new or it is smaller; True if the signature is new."""
        new = finding.signature not in self.sizes
        if not new and len(data) >= self.sizes[finding.signature]:
            return False
        stem = name_of(finding)
        (self.folder / f"{stem}.bin").write_bytes(data)
        text = f"{finding.signature}\n{finding.summary}\n{len(data)} bytes\n\n{finding.details}"
        (self.folder / f"{stem}.txt").write_text(text, encoding="utf-8")
        self.sizes[finding.signature] = len(data)
        if new:
            entry = {"signature": finding.signature, "kind": finding.kind, "file": stem}
            entry["summary"] = finding.summary
            with self.log.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
        return new


def name_of(finding: Finding) -> str:
    digest = hashlib.sha1(finding.signature.encode()).hexdigest()[:10]
    return f"{finding.kind}-{digest}"
