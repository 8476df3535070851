"""Which bundles a server has committed, kept beside the bundles so an interrupted push (a
crash, Ctrl-C, a server restart) resumes where it stopped. A bundle is recorded only after the
server answered its transaction; one sent again after a crash is harmless (PUT by id)."""

from __future__ import annotations

import threading
from pathlib import Path

import orjson

from trialbridge.sdtm.write import write_text

NAME = ".push-checkpoint.json"


class Checkpoint:
    def __init__(self, folder: Path, server: str) -> None:
        self.path = folder / NAME
        self.server = server
        self._lock = threading.Lock()
        self._all: dict[str, dict[str, str]] = {}
        if self.path.exists():
            try:
                self._all = orjson.loads(self.path.read_bytes())
            except orjson.JSONDecodeError:
                self._all = {}  # a torn file cannot happen (atomic writes); start over if so

    def done(self, file: str, sha256: str) -> bool:
        return self._all.get(self.server, {}).get(file) == sha256

    def commit(self, file: str, sha256: str) -> None:
        with self._lock:
            self._all.setdefault(self.server, {})[file] = sha256
            write_text(self.path, orjson.dumps(self._all, option=orjson.OPT_SORT_KEYS))
