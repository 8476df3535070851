"""The built bundles a push sends, as bundles/manifest.json lists them (file, wave, entries,
SHA-256), checked whole before anything is sent: every entry of the right shape, every file
inside bundles/ (no absolute path, no `..`, no link leading out), every bundle's bytes the ones
the manifest records. A bundle is read again when it is sent and checked again, so the bytes
sent are the bytes checked."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson

from trialbridge.errors import UserError
from trialbridge.fhir.bundles import MANIFEST
from trialbridge.fhir.server import checkpoint
from trialbridge.fhir.server.checkpoint import SHA256, json_type
from trialbridge.fhir.server.paths import Unsafe, inside

MANIFEST_LIMIT = 64 * 1024 * 1024  # bytes
BUNDLE_LIMIT = 1024 * 1024 * 1024  # bytes: a server takes far less in one transaction
FIX = "rebuild the bundles with trialbridge fhir build"
FIELDS = {"file": str, "wave": int, "entries": int, "sha256": str}


def manifest(folder: Path) -> list[dict[str, Any]]:
    """The bundles of `folder`, each checked (above). The push checkpoint beside them is checked
    too, so that every problem of the folder shows before anything is sent."""
    path = folder / "bundles" / MANIFEST
    if not path.exists():
        raise UserError(
            "no bundles/manifest.json", folder, "build the bundles with trialbridge fhir build"
        )
    listed = _listed(path)
    for number, bundle in enumerate(listed, 1):
        bundle_bytes(folder, bundle, number)
    checkpoint.read(folder)
    return listed


def _listed(path: Path) -> list[dict[str, Any]]:
    if not path.is_file() or path.stat().st_size > MANIFEST_LIMIT:
        raise UserError(f"not a regular file of at most {MANIFEST_LIMIT >> 20} MiB", path, FIX)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as problem:
        what = f"not valid JSON: {problem.msg} at line {problem.lineno}, column {problem.colno}"
        raise UserError(what, path, FIX) from None
    if not isinstance(document, dict) or "bundles" not in document:
        raise UserError(f"a JSON {json_type(document)} without a 'bundles' list", path, FIX)
    listed = document["bundles"]
    if not isinstance(listed, list):
        raise UserError(f"'bundles' is a JSON {json_type(listed)}, not a list", path, FIX)
    seen: dict[str, int] = {}
    for number, bundle in enumerate(listed, 1):
        where = f"{path}, entry {number}"
        _check_entry(bundle, where)
        first = seen.setdefault(bundle["file"], number)
        if first != number:
            raise UserError(f"{bundle['file']} is listed twice (entry {first} too)", where, FIX)
    return listed


def _check_entry(bundle: Any, where: str) -> None:
    if not isinstance(bundle, dict):
        raise UserError(f"a JSON {json_type(bundle)}, not an object", where, FIX)
    for name, kind in FIELDS.items():
        if name not in bundle:
            raise UserError(f"no '{name}'", where, FIX)
        value = bundle[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            wanted = "text" if kind is str else "a whole number"
            raise UserError(f"'{name}' is a JSON {json_type(value)}, not {wanted}", where, FIX)
        if kind is int and value < 0:
            raise UserError(f"'{name}' is negative ({value})", where, FIX)
    if not SHA256.fullmatch(bundle["sha256"]):
        raise UserError("'sha256' is not 64 lowercase hex digits", where, FIX)


def bundle_bytes(folder: Path, bundle: dict[str, Any], number: int) -> bytes:
    """The bytes of a listed bundle, from inside bundles/ and as the manifest records them."""
    where = f"{folder / 'bundles' / MANIFEST}, entry {number}"
    try:
        path = inside(folder / "bundles", bundle["file"], BUNDLE_LIMIT)
    except Unsafe as problem:
        raise UserError(f"file {problem}", where, FIX) from None
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != bundle["sha256"]:
        raise UserError(
            f"{bundle['file']} is not the bundle the manifest records (its SHA-256 differs: "
            "changed after fhir build?)",
            where,
            FIX,
        )
    return data
