"""Load YAML into pydantic models, keeping line numbers so errors can point at them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from trialbridge.errors import UserError

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
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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
    if not path.is_file():
        raise UserError("file not found", shown, "check the path")
    text = path.read_text(encoding="utf-8")
    try:
        loader = _UniqueKeyLoader(text)  # a SafeLoader: builds no Python objects from tags
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            opened = exc.context_mark.line + 1
            problem += f" ({exc.context.removeprefix('while ')} opened on line {opened})"
        raise UserError(
            f"YAML syntax error: {problem}", f"{shown}:{line}", "fix the YAML"
        ) from None
    lines: Lines = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


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
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        shown, lines = origin(first["loc"][0] if first["loc"] else None)
        loc = _yaml_path(lines, first["loc"])
        line = line_of(lines, loc)
        missing = first["loc"][-1] if first["type"] == "missing" and first["loc"] else None
        field = ".".join(str(part) for part in (*loc, *([missing] if missing else []))) or (
            "(top level)"
        )
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(
            f"{field}: {message}",
            f"{shown}:{line}" if line else shown,
            "see docs/mapping-language.md",
        ) from None


def _yaml_path(lines: Lines, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the parts pydantic adds inside unions (model or tag names) that are not YAML keys."""
    kept: tuple[Any, ...] = ()
    for part in loc:
        if (*kept, part) in lines:
            kept = (*kept, part)
    return kept
