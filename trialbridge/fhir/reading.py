"""FHIR input files -> resources, each with the place it came from (file and line, or Bundle
file and entry index), so every later problem can name it. Every way a file can be wrong
(not JSON, not UTF-8, not a resource, too long, too deep, not a Bundle a reader can take) is
one line naming the file, the line or entry, and the fix; all of a run's are gathered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

from trialbridge.errors import UserError, report

MANIFEST = "manifest.json"  # what `fhir build` writes beside the bundles: not FHIR
MAX_LINE_BYTES = 16 * 1024 * 1024  # one NDJSON resource; FHIR resources are far smaller
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # one Bundle file, read whole
MAX_DEPTH = 100  # nesting levels of one resource (objects and arrays); real ones use < 20
CHUNK_BYTES = 16 * 1024 * 1024  # NDJSON is read this much at a time
BUNDLE_TYPES = ("transaction", "batch", "collection", "searchset")
FOLDER_FIX = "give the folder fhir build wrote (with ndjson/ or bundles/), or one of NDJSON files"
NDJSON_FIX = "an NDJSON file holds one FHIR resource, as a JSON object, on every line"
BUNDLE_FIX = "a .json file here holds one FHIR Bundle (resources one per line go in .ndjson files)"
ENTRY_FIX = "each Bundle entry is an object that holds its resource"
TOO_DEEP = (
    f"JSON nested deeper than {MAX_DEPTH} levels",
    "FHIR resources nest far less: check what wrote the file",
)
UTF8_FIX = "save the file as UTF-8"
BOM_FIX = "save the file as UTF-8 without a byte order mark"

Place = tuple[str, int, bool]  # (file, line number, False), or (file, entry index, True)


class Resources(list[dict[str, Any]]):
    """Resources read from files: a list that also knows where each one came from."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self.places: list[Place] = []


def where(place: Place) -> str:
    """`file, line N` for NDJSON, `file, Bundle.entry[i]` for a Bundle."""
    file, number, entry = place
    return f"{file}, Bundle.entry[{number}]" if entry else f"{file}, line {number}"


def problem_at(place: Place, what: str, fix: str | None = None) -> UserError:
    return UserError(what, where(place), fix, file=place[0], row=place[1])


def read_folder(folder: Path) -> Resources:
    """ndjson/*.ndjson, else bundles/*.json, else *.ndjson, else *.json in the folder."""
    if not folder.exists():
        raise UserError("FHIR folder not found", folder, "give the folder fhir build wrote")
    if not folder.is_dir():
        raise UserError("not a folder", folder, FOLDER_FIX)
    resources = Resources(str(folder))
    ndjson, bundles = _sources(folder)
    for path in ndjson:
        read_ndjson(path, resources)
    for path in bundles:
        read_bundle(path, resources)
    if not resources:
        source = ndjson or bundles
        count = f"{len(source)} {'.ndjson' if ndjson else 'Bundle'} file"
        plural = "s" if len(source) > 1 else ""
        raise UserError(f"no FHIR resources in its {count}{plural}", source[0].parent, FOLDER_FIX)
    return resources


def _sources(folder: Path) -> tuple[list[Path], list[Path]]:
    """The NDJSON files, or else the Bundle files, the folder holds (one kind is read)."""
    ndjson = sorted((folder / "ndjson").glob("*.ndjson")) or sorted(folder.glob("*.ndjson"))
    if ndjson:
        return ndjson, []
    bundles = _bundle_files(folder / "bundles") or _bundle_files(folder)
    if bundles:
        return [], bundles
    if not any(folder.iterdir()):
        raise UserError("the folder is empty", folder, FOLDER_FIX)
    raise UserError(
        "no FHIR input: no .ndjson file (in ndjson/ or here) and no .json Bundle "
        "(in bundles/ or here)",
        folder,
        FOLDER_FIX,
    )


def _bundle_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if p.name != MANIFEST)


# --- NDJSON -----------------------------------------------------------------------------


def read_ndjson(path: Path, into: Resources) -> None:
    """Every line of an NDJSON file into `into`; empty lines only at the end."""
    file = str(path)
    blank: list[int] = []
    with path.open("rb") as handle:
        if not _encoding_ok(handle.read(4), file):
            return
        handle.seek(0)
        for number, line in _lines(handle, file):
            if not line or line.isspace():
                blank.append(number)
                continue
            for empty in blank:
                report(_line_error(file, empty, "an empty line", "remove it: " + NDJSON_FIX))
            blank.clear()
            resource = ndjson_resource(line, file, number)
            if resource is not None:
                into.append(resource)
                into.places.append((file, number, False))
            elif number == 1 and _not_ndjson(line):
                return  # one problem for the file, not one for each line after it


def _not_ndjson(first: bytes) -> bool:
    """Whether a first line that is no resource shows the whole file is not NDJSON (one JSON
    array, or one object over several lines)."""
    stripped = first.strip()
    return stripped.startswith(b"[") or stripped == b"{"


def ndjson_resource(line: bytes, file: str, number: int) -> dict[str, Any] | None:
    """One NDJSON line as a resource object, or None once its problem is reported."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        what, fix = _line_problem(exc, line, number)
        report(_line_error(file, number, what, fix))
        return None
    if type(value) is not dict:
        what = f"{json_kind(value)}, not a FHIR resource object"
        if number == 1 and type(value) is list:
            what = "the file is one JSON array, not NDJSON"
        report(_line_error(file, number, what, NDJSON_FIX))
        return None
    if line.count(b"{") + line.count(b"[") > MAX_DEPTH and json_depth(line) > MAX_DEPTH:
        report(_line_error(file, number, *TOO_DEEP))
        return None
    return value


def _line_problem(exc: orjson.JSONDecodeError, line: bytes, number: int) -> tuple[str, str]:
    """(what, fix) for orjson's error on one NDJSON line."""
    stripped = line.strip()
    if number == 1 and stripped in (b"[", b"{"):
        kind = "one JSON array" if stripped == b"[" else "one JSON object over several lines"
        return f"the file is {kind}, not NDJSON", NDJSON_FIX
    if not stripped:
        return "an empty line", "remove it: " + NDJSON_FIX
    what, fix, _ = _json_problem(exc, line, NDJSON_FIX)
    return what, fix


def _lines(handle: BinaryIO, file: str) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) a chunk at a time; a line over MAX_LINE_BYTES stops the file at
    once, before the rest of it is read."""
    pending = b""
    number = 0
    while chunk := handle.read(CHUNK_BYTES):
        pieces = (pending + chunk if pending else chunk).split(b"\n")
        pending = pieces.pop()
        for piece in pieces:
            number += 1
            if len(piece) > MAX_LINE_BYTES:
                report(_too_long(file, number))
                return
            yield number, piece
        if len(pending) > MAX_LINE_BYTES:
            report(_too_long(file, number + 1))
            return
    if pending:
        yield number + 1, pending


def _too_long(file: str, number: int) -> UserError:
    limit = MAX_LINE_BYTES // (1024 * 1024)
    return _line_error(file, number, f"a line longer than {limit} MiB", NDJSON_FIX)


def _line_error(file: str, number: int, what: str, fix: str) -> UserError:
    return UserError(what, f"{file}, line {number}", fix, file=file, row=number)


# --- Bundles ----------------------------------------------------------------------------


def read_bundle(path: Path, into: Resources) -> None:
    """The entries' resources of one Bundle file into `into`."""
    file = str(path)
    size = path.stat().st_size
    if size > MAX_BUNDLE_BYTES:
        limit = MAX_BUNDLE_BYTES // (1024 * 1024)
        report(
            UserError(
                f"a Bundle file larger than {limit} MiB",
                file,
                "split it into smaller Bundles, or give the resources as NDJSON",
                file=file,
            )
        )
        return
    data = path.read_bytes()
    if not _encoding_ok(data[:4], file):
        return
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        what, fix, line = _json_problem(exc, data, BUNDLE_FIX)
        report(UserError(what, f"{file}, line {line}", fix, file=file, row=line))
        return
    deep = json_depth(data) > MAX_DEPTH + 3  # Bundle, entry, entry item: 3 levels above
    bundle_resources(document, file, into, deep)


def bundle_resources(document: Any, file: str, into: Resources, deep: bool = False) -> None:
    """A parsed Bundle's resources into `into`. `deep`: some resource may nest too deep."""
    problem = _bundle_problem(document)
    if problem is not None:
        report(UserError(problem[0], file, problem[1], file=file))
        return
    for index, entry in enumerate(document.get("entry", [])):
        place = (file, index, True)
        resource = _entry_resource(entry, place, deep)
        if resource is not None:
            into.append(resource)
            into.places.append(place)


def _entry_resource(entry: Any, place: Place, deep: bool) -> dict[str, Any] | None:
    """The entry's resource, or None once its problem is reported."""
    if type(entry) is not dict:
        report(problem_at(place, f"{json_kind(entry)}, not an entry object", ENTRY_FIX))
        return None
    resource = entry.get("resource")
    if resource is None:
        request = entry.get("request")
        method = code_text(request.get("method")) if type(request) is dict else None
        what = f"an entry without a resource{f' (a {method} request)' if method else ''}"
        report(problem_at(place, what, ENTRY_FIX + ", or remove the entry"))
        return None
    if type(resource) is not dict:
        report(problem_at(place, f"resource is {json_kind(resource)}, not an object", ENTRY_FIX))
        return None
    if deep and nesting(resource) > MAX_DEPTH:
        report(problem_at(place, *TOO_DEEP))
        return None
    return resource


def _bundle_problem(document: Any) -> tuple[str, str] | None:
    """(what, fix) when a parsed document is not a Bundle whose entries can be read."""
    if type(document) is not dict:
        return f"{json_kind(document)}, not a FHIR Bundle", BUNDLE_FIX
    kind = document.get("resourceType")
    if kind != "Bundle":
        shown = code_text(kind)
        if kind is None:
            return "no resourceType: not a FHIR Bundle", BUNDLE_FIX
        return (
            f"{f'a {shown}' if shown else 'resourceType is not a type name'}, not a Bundle",
            BUNDLE_FIX,
        )
    bundle_type = document.get("type")
    if bundle_type not in BUNDLE_TYPES:
        shown = code_text(bundle_type)
        fix = f"trialbridge reads {', '.join(BUNDLE_TYPES[:-1])} and {BUNDLE_TYPES[-1]} Bundles"
        if bundle_type == "history":
            fix += " (a history holds every version: read the current resources instead)"
        return f"a Bundle {f'of type {shown!r}' if shown else 'without a type code'}", fix
    if type(document.get("entry", [])) is not list:
        return f"Bundle.entry is {json_kind(document['entry'])}, not a list", BUNDLE_FIX
    return None


def code_text(value: Any) -> str | None:
    """A code from the input as it may be shown in a message: short letters, digits and
    dashes; None for anything else (numbers, objects, text that could hide control codes)."""
    if type(value) is str and 0 < len(value) <= 64 and value.replace("-", "").isalnum():
        return value if value.isascii() else None
    return None


# --- JSON problems ----------------------------------------------------------------------


# what a file's first bytes say about its encoding, longest marks first
_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "encoded as UTF-32"),
    (b"\x00\x00\xfe\xff", "encoded as UTF-32"),
    (b"\xef\xbb\xbf", "starts with a UTF-8 byte order mark"),
    (b"\xff\xfe", "encoded as UTF-16"),
    (b"\xfe\xff", "encoded as UTF-16"),
)


def _encoding_ok(head: bytes, file: str) -> bool:
    """Refuse a byte order mark, or NUL bytes where JSON starts (UTF-16 or UTF-32 without a
    mark), before anything is parsed."""
    what = next((name for mark, name in _ENCODINGS if head.startswith(mark)), None)
    if what is None and b"\x00" in head:
        what = "encoded as UTF-16 or UTF-32 (NUL bytes)"
    if what is not None:
        report(_line_error(file, 1, what, BOM_FIX))
    return what is None


def _json_problem(exc: orjson.JSONDecodeError, data: bytes, fix: str) -> tuple[str, str, int]:
    """(what, fix, line) for orjson's error on `data`."""
    if "UTF-8" in exc.msg:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            column = bad.start - data.rfind(b"\n", 0, bad.start)
            return (
                f"not valid UTF-8 (byte 0x{data[bad.start]:02x} at column {column})",
                UTF8_FIX,
                line,
            )
    if "depth" in exc.msg:
        return *TOO_DEEP, exc.lineno
    return f"not valid JSON: {exc.msg} at column {exc.colno}", fix, exc.lineno


def json_kind(value: Any) -> str:
    """A JSON value's kind, as a message names it."""
    names = {
        dict: "a JSON object",
        list: "a JSON array",
        str: "a JSON string",
        bool: "true or false",
    }
    if value is None:
        return "null"
    return names.get(type(value), "a JSON number")


# --- nesting ----------------------------------------------------------------------------

_STRUCTURE = bytes(b for b in range(256) if b not in b'{}[]"')
_STEP = np.zeros(256, np.int8)
_STEP[[ord("{"), ord("[")]] = 1
_STEP[[ord("}"), ord("]")]] = -1


def json_depth(data: bytes) -> int:
    """How deep the objects and arrays of valid JSON text nest, found from its bytes (C-speed
    passes, no Python loop): escaped quotes and backslashes go first, then everything but
    brackets and quotes, then what lies inside strings."""
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = np.frombuffer(data.translate(None, _STRUCTURE), np.uint8)
    quote = kept == ord('"')
    if quote.any():
        outside = (np.cumsum(quote, dtype=np.int64) & 1) == 0
        kept = kept[outside & ~quote]
    if not len(kept):
        return 0
    return int(np.cumsum(_STEP[kept], dtype=np.int64).max())


def nesting(value: Any) -> int:
    """How deep a parsed JSON value nests (objects and arrays), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if type(node) is dict:
            node = node.values()
        elif type(node) is not list:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node if type(child) in (dict, list))
    return deepest
