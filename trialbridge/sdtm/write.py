"""Atomic file writes: a temporary file in the same folder, renamed into place, with the
mode a plain open() would give it (0o666 less the umask), so colleagues can read it."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_umask_lock = threading.Lock()
_umask: int | None = None


def umask() -> int:
    """The process umask, read once: from /proc (Linux), else by setting it and setting it
    back (a file another thread creates in that moment would get 022)."""
    global _umask
    with _umask_lock:
        if _umask is None:
            _umask = _umask_of_proc()
        if _umask is None:
            _umask = os.umask(0o022)
            os.umask(_umask)
        return _umask


def _umask_of_proc() -> int | None:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    return None


def write_text(target: Path, data: bytes) -> Path:
    with atomic_file(target) as handle:
        handle.write(data)
    return target


@contextmanager
def atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A binary file written in pieces that appears at `target` only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
