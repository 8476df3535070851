"""Which bundles a server has accepted whole, kept beside the bundles so an interrupted push (a
crash, Ctrl-C, a server restart) resumes where it stopped, and a push with refusals sends the
refused bundles again. A bundle is recorded only after the server accepted every one of its
entries; one sent again after a crash is harmless (PUT by id).

The file maps each server's base URL (never with a user name or password) to the bundles it
accepted and their SHA-256; a hand-edited or foreign file is refused with one line."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.server.origin import redact, without_userinfo
from trialbridge.fhir.server.paths import name_problem
from trialbridge.sdtm.write import write_text

NAME = ".push-checkpoint.json"
LIMIT = 64 * 1024 * 1024  # bytes: far above any real checkpoint
SHA256 = re.compile(r"[0-9a-f]{64}")  # a bundle's hash, in the manifest and here
FIX = "delete it: the next push sends every bundle again (PUT by id, so nothing doubles)"


def read(folder: Path) -> dict[str, dict[str, str]]:
    """The checkpoint beside the bundles, checked; {} when there is none."""
    return _load(folder)[0]


def _load(folder: Path) -> tuple[dict[str, dict[str, str]], bool]:
    """(the checkpoint, whether a server key had to lose a user name and password that an
    earlier version kept in it)."""
    path = folder / NAME
    if not path.exists() and not path.is_symlink():
        return {}, False
    if path.is_symlink() or not path.is_file():
        raise UserError("not a regular file (a link or a folder?)", path, FIX)
    if path.stat().st_size > LIMIT:
        raise UserError(
            f"larger than {LIMIT // 1024 // 1024} MiB: not a push checkpoint", path, FIX
        )
    try:
        found = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as problem:
        what = f"not valid JSON: {problem.msg} at line {problem.lineno}, column {problem.colno}"
        raise UserError(what, path, FIX) from None
    if not isinstance(found, dict):
        raise UserError(f"not a push checkpoint (a JSON {json_type(found)})", path, FIX)
    cleaned: dict[str, dict[str, str]] = {}
    for server, bundles in found.items():
        _check(server, bundles, path)
        cleaned.setdefault(_key(server), {}).update(bundles)
    return cleaned, list(cleaned) != list(found)


def _check(server: str, bundles: object, path: Path) -> None:
    shown = redact(server)
    if not isinstance(bundles, dict):
        raise UserError(f"not a push checkpoint: {shown} maps to a {json_type(bundles)}", path, FIX)
    for name, digest in bundles.items():
        problem = name_problem(name)
        if problem:
            raise UserError(f"{shown}: the bundle file {problem}", path, FIX)
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            raise UserError(f"{shown}: {name} has no SHA-256 (64 hex digits)", path, FIX)


def json_type(value: Any) -> str:
    """A parsed JSON value's type as a message names it (after "a JSON")."""
    names = {dict: "object", list: "list", str: "string", int: "number", float: "number"}
    return names.get(type(value), "true/false" if isinstance(value, bool) else "null")


def _key(server: str) -> str:
    """A server as the file keys it: without user name and password."""
    try:
        return str(without_userinfo(httpx.URL(server))).rstrip("/")
    except httpx.InvalidURL:
        return redact(server)


class Checkpoint:
    def __init__(self, folder: Path, server: str) -> None:
        self.path = folder / NAME
        self.server = _key(server)
        self._lock = threading.Lock()
        self._all, unclean = _load(folder)
        if unclean:
            self._write()  # take out the passwords an earlier version kept

    def done(self, file: str, sha256: str) -> bool:
        return self._all.get(self.server, {}).get(file) == sha256

    def commit(self, file: str, sha256: str) -> None:
        with self._lock:
            self._all.setdefault(self.server, {})[file] = sha256
            self._write()

    def _write(self) -> None:
        write_text(self.path, orjson.dumps(self._all, option=orjson.OPT_SORT_KEYS))
