"""Load YAML into pydantic models, keeping line numbers so errors can point at them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from trialbridge.errors import UserError, checkpoint, report

M = TypeVar("M", bound=BaseModel)
Lines = dict[tuple[Any, ...], int]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys, and reads every plain scalar except
    null as text: YAML 1.1 would turn 010 into 8, yes into True and 12:30 into 750, so a spec's
    `equals: 010` could never match the data. pydantic converts text where a field is numeric."""


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a list or mapping is used as a key", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# Bounds for study.yaml and specs, far above any real study's and far below harm: nesting
# deeper than this, or aliases that expand to more values, are refused before building data.
MAX_BYTES = 8_000_000
MAX_DEPTH = 64
MAX_VALUES = 1_000_000


def _line_map(node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> None:
    """Record the 1-based line of every mapping value and sequence item by its path."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _line_map(value_node, (*path, key_node.value), lines)
            lines[(*path, key_node.value)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)


def read_yaml(path: Path, shown: str | None = None) -> tuple[Any, Lines]:
    """Parse a YAML file safely; return the data and a path -> line map. Errors name the
    file as `shown` (default: the path)."""
    shown = shown or str(path)
    text = _text(path, shown)
    try:
        _check_nesting(text, shown)
        loader = _UniqueKeyLoader(text)  # a SafeLoader: builds no Python objects from tags
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_expansion(node, shown)
                _check_escapes(node, shown)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, shown) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise UserError(
            f"character U+{exc.character:04X} is not allowed in YAML",
            f"{shown}:{line}",
            "remove it (control characters and NUL cannot appear in a YAML file)",
        ) from None
    lines: Lines = {}
    if node is not None:
        _line_map(node, (), lines)
    _report_todos(data, (), lines, shown)
    return data, lines


TODO = "TODO"  # the value `trialbridge init` writes where a decision is left to the user


def _report_todos(data: Any, path: tuple[Any, ...], lines: Lines, shown: str) -> None:
    """Each value still TODO (as `trialbridge init` drafts them) is a problem at its line."""
    if isinstance(data, dict):
        for key, value in data.items():
            _report_todos(value, (*path, key), lines, shown)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _report_todos(value, (*path, i), lines, shown)
    elif data == TODO:
        name = ".".join(str(p) for p in path) or "the document"
        report(
            UserError(
                f"{name} is TODO, a decision the draft leaves to you",
                f"{shown}:{line_of(lines, path)}",
                "replace TODO with the value (the comment beside it, if any, says what was found)",
            ),
            kind="TODO left in a draft",
        )


def _text(path: Path, shown: str) -> str:
    """The file as text: UTF-8 (a byte order mark is allowed), of a sane size."""
    if path.is_dir():
        raise UserError("is a folder, not a file", shown, "check the path")
    if not path.is_file():
        raise UserError("file not found", shown, "check the path")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise UserError(
            f"the file is {size:,} bytes; YAML files over {MAX_BYTES:,} bytes are refused",
            shown,
            "check that this is the right file",
        )
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UserError("the file is UTF-16", shown, "save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(
            f"byte 0x{raw[exc.start]:02X} is not UTF-8",
            f"{shown}:{line}",
            "save the file as UTF-8",
        ) from None


def _syntax_error(exc: yaml.MarkedYAMLError, shown: str) -> UserError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.context_mark and exc.problem:
        opened = exc.context_mark.line + 1
        problem += f" ({exc.context.removeprefix('while ')} opened on line {opened})"
    where = f"{shown}:{line}" if line else shown
    return UserError(f"YAML syntax error: {problem}", where, "fix the YAML")


def _check_nesting(text: str, shown: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream, before the (recursive)
    composer sees it."""
    depth = 0
    for event in yaml.parse(text, Loader=_UniqueKeyLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise UserError(
                    f"lists and mappings nest more than {MAX_DEPTH} deep",
                    f"{shown}:{line}",
                    "flatten the YAML; no study definition nests this deep",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_expansion(root: yaml.Node, shown: str) -> None:
    """Refuse aliases that refer to themselves, or expand to more than MAX_VALUES values
    (the 'billion laughs' of YAML), counting each shared node once per use."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int, open_: set[int]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_ or depth > 4 * MAX_DEPTH:
            raise UserError(
                "an alias refers to the list or mapping that holds it",
                f"{shown}:{node.start_mark.line + 1}",
                "replace the alias with the values it should repeat",
            )
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        open_.add(key)
        total = 1 + sum(size(child, depth + 1, open_) for child in children)
        open_.discard(key)
        if total > MAX_VALUES:
            raise UserError(
                f"aliases expand to more than {MAX_VALUES:,} values",
                f"{shown}:{node.start_mark.line + 1}",
                "write the values out, or use fewer nested aliases",
            )
        sizes[key] = total
        return total

    size(root, 0, set())


# what a YAML escape (\e, \x1b, \0, ...) can put in a value: control characters other than
# tab and line breaks would reach names, values and terminals as they are
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_escapes(root: yaml.Node, shown: str) -> None:
    """Refuse a key or value holding a control character written as an escape."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            found = _CONTROL.search(node.value)
            if found:
                raise UserError(
                    f"a value holds the control character U+{ord(found.group()):04X} "
                    "(written as an escape)",
                    f"{shown}:{node.start_mark.line + 1}",
                    "remove it: no name or value needs one",
                )
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
        elif isinstance(node, yaml.MappingNode):
            stack += [part for pair in node.value for part in pair]


def line_of(lines: Lines, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def load_model(path: Path, model: type[M], shown: str | None = None) -> tuple[M, Lines]:
    """Read `path` and validate it as `model`; a validation error names file and line."""
    shown = shown or str(path)
    data, lines = read_yaml(path, shown)
    return validate(data, model, lambda key: (shown, lines)), lines


def validate(data: Any, model: type[M], origin: Callable[[Any], tuple[str, Lines]]) -> M:
    """Validate parsed YAML as `model`. `origin(top_level_key)` gives the file shown and the
    line map that key was read from (a study.yaml may inherit keys from another file)."""
    if data is not None and not isinstance(data, dict):
        shown, _ = origin(None)
        raise UserError(
            f"the file holds a {type(data).__name__}, not a mapping of keys",
            shown,
            "write it as `key: value` lines (see docs/mapping-language.md)",
        )
    if data is None:
        shown, _ = origin(None)
        raise UserError("the file is empty", shown, "see docs/mapping-language.md")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = _distinct(exc.errors(), origin)
    for error in errors:  # every mistake in the file, when the run gathers problems
        report(_validation_error(error, origin))
    checkpoint()
    raise AssertionError("unreachable: report() raised or checkpoint() did")


def _distinct(errors: list[Any], origin: Callable[[Any], tuple[str, Lines]]) -> list[Any]:
    """One error per field the user sees: a value that fits no member of a union fails each
    member (pydantic names the member in the path; the YAML has no such key)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for error in errors:
        if error.get("input") == TODO:
            continue  # reported as a TODO left, at its line
        place = _field(error, origin)
        if place not in seen:
            seen.add(place)
            kept.append(error)
    return kept


def _field(error: Any, origin: Callable[[Any], tuple[str, Lines]]) -> tuple[str, str]:
    """The file and the dotted YAML path of a validation error (a missing key included)."""
    shown, lines = origin(error["loc"][0] if error["loc"] else None)
    loc = _yaml_path(lines, error["loc"])
    missing = error["loc"][-1] if error["type"] == "missing" and error["loc"] else None
    parts = (*loc, *([missing] if missing else []))
    return shown, ".".join(str(part) for part in parts) or "(top level)"


def _validation_error(error: Any, origin: Callable[[Any], tuple[str, Lines]]) -> UserError:
    shown, lines = origin(error["loc"][0] if error["loc"] else None)
    line = line_of(lines, _yaml_path(lines, error["loc"]))
    _, field = _field(error, origin)
    message = error["msg"].removeprefix("Value error, ")
    return UserError(
        f"{field}: {message}",
        f"{shown}:{line}" if line else shown,
        "see docs/mapping-language.md",
        file=shown,
        row=line,
    )


def _yaml_path(lines: Lines, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the parts pydantic adds inside unions (model or tag names) that are not YAML keys."""
    kept: tuple[Any, ...] = ()
    for part in loc:
        if (*kept, part) in lines:
            kept = (*kept, part)
    return kept
