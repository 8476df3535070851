"""The shapes reading FHIR relies on, checked one resource at a time as it is read: the meta
tags (when the intake places a resource), a dataset definition, and what a record's own
extensions hold (their parts, each part's value type, SDTM names that become columns and
files), in the pass that reads them. What passes cannot make the conversion fail half-way;
what does not is named with the element at fault."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from trialbridge.fhir import definition, grouped, relrec, supplemental
from trialbridge.fhir.build import CARRIED, DATASET_TAG, DOMAIN_TAG, ORIGIN_TAG, STUDY_TAG
from trialbridge.fhir.reading import json_kind
from trialbridge.fhir.table import SDTM_ORDER, SDTM_RECORD, SDTM_VARIABLE, table

DATASET_NAME = re.compile(r"[A-Z][A-Z0-9]{0,7}")  # SDTM dataset: also the XPT file's name
VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,7}")  # SDTM variable: also a column's name
TAGS = {
    DATASET_TAG: "sdtm-dataset",
    DOMAIN_TAG: "sdtm-domain",
    STUDY_TAG: "sdtm-study",
    ORIGIN_TAG: "sdtm-origin",
}
NAMED = {DATASET_TAG, DOMAIN_TAG}  # tags whose code is an SDTM name


class Unreadable(Exception):
    """One resource's problem: `what` reads after the resource's name; `fix` says what to do."""

    def __init__(self, what: str, fix: str = "correct the resource") -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


def shown(value: Any, limit: int = 40) -> str:
    """A value from the input as a message quotes it: printable, and cut at `limit`."""
    if type(value) is not str:
        return json_kind(value)
    text = "".join(c if c.isprintable() else "?" for c in value[: limit + 1])
    return f"'{text[:limit]}...'" if len(text) > limit else f"'{text}'"


def tags(resource: dict[str, Any]) -> dict[str, str]:
    """trialbridge's tags (system -> code), each at most once; other tags are left alone."""
    meta = resource.get("meta")
    if meta is None:
        return {}
    if type(meta) is not dict:
        raise Unreadable(f"meta is {json_kind(meta)}, not an object")
    items = meta.get("tag")
    if items is None:
        return {}
    if type(items) is not list:
        raise Unreadable(f"meta.tag is {json_kind(items)}, not a list")
    found: dict[str, str] = {}
    for position, tag in enumerate(items):
        if type(tag) is not dict:
            raise Unreadable(f"meta.tag[{position}] is {json_kind(tag)}, not a Coding")
        system = tag.get("system")
        if type(system) is not str or system not in TAGS:
            continue
        found[system] = _tag_code(tag.get("code"), system, position, found.get(system))
    return found


def _tag_code(code: Any, system: str, position: int, earlier: str | None) -> str:
    name = TAGS[system]
    if type(code) is not str or not code.strip():
        raise Unreadable(f"meta.tag[{position}] ({name}) has no code", "give the tag its code")
    if system in NAMED and not DATASET_NAME.fullmatch(code):
        raise Unreadable(
            f"{name} tag {shown(code)} is not an SDTM dataset name",
            "correct the tag (a capital letter, then up to 7 capitals or digits)",
        )
    if earlier is not None and earlier != code:
        raise Unreadable(f"two {name} tags, {shown(earlier)} and {shown(code)}", "keep one")
    return code


def root_extensions(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource's extensions: a list of objects, each with a url."""
    return _extensions(resource.get("extension"), "extension")


def _extensions(items: Any, path: str) -> list[dict[str, Any]]:
    if items is None:
        return []
    if type(items) is list and all(type(e) is dict and type(e.get("url")) is str for e in items):
        return items
    if type(items) is not list:
        raise Unreadable(f"{path} is {json_kind(items)}, not a list")
    for position, item in enumerate(items):
        if type(item) is not dict:
            raise Unreadable(f"{path}[{position}] is {json_kind(item)}, not an Extension")
        if type(item.get("url")) is not str:
            raise Unreadable(f"{path}[{position}] has no url", "give every extension its url")
    return items


def _once(values: dict[str, Any], name: str, value: Any, path: str) -> None:
    """A record's value, refused when it came already (the last would win unseen)."""
    if name in values:
        what = "the record's order" if name == grouped.ORDER else f"variable {name}"
        raise Unreadable(f"{path} gives {what} again", "give each value once")
    values[name] = value


def record_extensions(
    resource: dict[str, Any], domain: str
) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """What a record resource's own extensions carry, checked in one pass: its sdtm-variable
    values (and its position, under ORDER), and the RELREC partners it names (path, the
    valueReference); the SUPP--, RELREC, grouped-record and coded extensions that other
    readers take are checked for their shape."""
    items = resource.get("extension")
    if items is None:
        return {}, []
    if type(items) is not list:
        raise Unreadable(f"extension is {json_kind(items)}, not a list")
    coded, mapped = _coded(domain), _mapped(domain)
    values: dict[str, Any] = {}
    partners: list[tuple[str, Any]] = []
    for position, ext in enumerate(items):
        if type(ext) is not dict:
            raise Unreadable(f"extension[{position}] is {json_kind(ext)}, not an Extension")
        url = ext.get("url")
        if url == SDTM_VARIABLE:
            parts = ext.get("extension")
            name = _plain_variable(parts)  # the quick check nearly every one passes
            if name is None or name in mapped:
                name, value = _variable(ext, f"extension[{position}]", mapped)
            else:
                value = parts[1]["valueString" if "valueString" in parts[1] else "valueDecimal"]
            _once(values, name, value, f"extension[{position}]")
            continue
        path = f"extension[{position}]"
        if type(url) is not str:
            raise Unreadable(f"{path} has no url", "give every extension its url")
        if url == SDTM_ORDER:
            _integer(ext, "valueInteger", path)
            _once(values, grouped.ORDER, ext["valueInteger"], path)
        elif url == relrec.RELATED:
            _listed(ext, path, relrec.FIELDS, "related")
            partners += [
                (f"{path}.extension[{index}].valueReference", part.get("valueReference"))
                for index, part in enumerate(ext["extension"])
                if part["url"] == "related"
            ]
        elif url == supplemental.SUPPLEMENTAL:
            _listed(ext, path, supplemental.FIELDS)
        elif url == SDTM_RECORD:
            _record(ext, path)
        elif url in coded:
            for index, part in enumerate(_extensions(ext.get("extension"), f"{path}.extension")):
                if part["url"] == "text":
                    _text(part, "valueString", f"{path}.extension[{index}]")
    return values, partners


@cache
def _coded(domain: str) -> frozenset[str | None]:
    """The URLs of the table's coded extensions (US Core race, ...)."""
    spec = table(domain)
    elements = spec.elements if spec is not None else []
    return frozenset(e.url for e in elements if e.codec == "coded-extension")


@cache
def _mapped(domain: str) -> frozenset[str]:
    """The variables the table maps to elements of its own (an sdtm-variable may not carry
    them, except those whose element leaves some values over)."""
    spec = table(domain)
    elements = spec.elements if spec else []
    return frozenset(e.var for e in elements if not e.leaves_over) | frozenset(CARRIED)


def _variable(ext: dict[str, Any], path: str, mapped: frozenset[str]) -> tuple[str, Any]:
    """(name, value) of an sdtm-variable extension: a name part and a value part."""
    parts = _parts(ext, path, {"name", "value"})
    _required(parts, ("name", "value"), path)
    name = _variable_name(parts["name"], f"{path}.name")
    _value(parts["value"], f"{path}.value")
    value = parts["value"]
    if name in mapped:
        raise Unreadable(
            f"{path} carries {name}, which the table maps to an element of its own",
            "keep the value in that element only",
        )
    return name, value.get("valueString", value.get("valueDecimal"))


def _plain_variable(parts: Any) -> str | None:
    """The name of an sdtm-variable as trialbridge writes it (name, then value; the value a
    string or a number), else None."""
    if type(parts) is not list or len(parts) != 2:
        return None
    name, value = parts
    if type(name) is not dict or type(value) is not dict:
        return None
    text = name.get("valueString")
    if (
        name.get("url") != "name"
        or value.get("url") != "value"
        or type(text) is not str
        or VARIABLE_NAME.fullmatch(text) is None
    ):
        return None
    if "valueString" in value:
        return text if type(value["valueString"]) is str else None
    return text if type(value.get("valueDecimal")) in (int, float) else None


def _record(ext: dict[str, Any], path: str) -> None:
    """A record of a grouped table: its position, and its variables as parts."""
    for name, part in _parts(ext, path, None).items():
        if name == grouped.ORDER:
            _integer(part, "valueInteger", f"{path}.{name}")
        else:
            _variable_name({"valueString": name}, f"{path} part")
            _value(part, f"{path}.{name}")


def _listed(ext: dict[str, Any], path: str, fields: tuple[str, ...], *many: str) -> None:
    """SUPP-- and RELREC records: text fields, and their position (`order`)."""
    allowed = {*fields, "order"}
    parts = _parts(ext, path, allowed, set(many))
    _required(parts, ("order",), path)
    _integer(parts["order"], "valueInteger", f"{path}.order")
    for name in fields:
        if name in parts:
            _text(parts[name], "valueString", f"{path}.{name}")


def check_definition(resource: dict[str, Any]) -> int | None:
    """A dataset definition (Basic): its label and its variables (name, label, Char or Num),
    each name once; and the number of records it says the dataset holds, when it says."""
    seen: set[str] = set()
    records = None
    found = [
        (position, ext)
        for position, ext in enumerate(root_extensions(resource))
        if ext["url"] == definition.SDTM_DATASET
    ]
    if len(found) != 1:
        raise Unreadable(
            f"an SDTM dataset definition with {len(found)} extensions "
            f"{definition.SDTM_DATASET}, not 1",
            "give it one, holding the dataset's label and variables, as fhir build writes it",
        )
    for position, ext in found:
        path = f"extension[{position}]"
        for index, part in enumerate(_extensions(ext.get("extension"), f"{path}.extension")):
            where = f"{path}.extension[{index}]"
            if part["url"] == "label":
                _text(part, "valueString", where)
            elif part["url"] == "variable":
                seen.add(_defined_variable(part, where, seen))
            elif part["url"] == "records":
                _integer(part, "valueInteger", where)
                records = part["valueInteger"]
                if records < 0:
                    raise Unreadable(f"{where}.valueInteger is {records}, not a count")
            else:
                raise Unreadable(f"{where} has the unknown url {shown(part['url'])}")
    if not seen:
        raise Unreadable(
            "an SDTM dataset definition that defines no variable",
            "give each variable of the dataset as a 'variable' part (name, label, type)",
        )
    return records


def _defined_variable(part: dict[str, Any], path: str, seen: set[str]) -> str:
    fields = _parts(part, path, {"name", "label", "type"})
    _required(fields, ("name", "type"), path)
    name = _variable_name(fields["name"], f"{path}.name")
    if name in seen:
        raise Unreadable(f"{path} defines the variable {name} again", "define each variable once")
    if "label" in fields:
        _text(fields["label"], "valueString", f"{path}.label")
    kind = fields["type"].get("valueString")
    if kind not in ("Char", "Num"):
        raise Unreadable(f"{path}.type is {shown(kind)}, not Char or Num")
    return name


def _parts(
    ext: dict[str, Any], path: str, allowed: set[str] | None, many: set[str] | None = None
) -> dict[str, dict[str, Any]]:
    """A complex extension's parts by url: each known (when `allowed` is given) and, unless
    in `many`, there once."""
    parts: dict[str, dict[str, Any]] = {}
    for index, part in enumerate(_extensions(ext.get("extension"), f"{path}.extension")):
        url = part["url"]
        if many and url in many:
            continue
        if allowed is not None and url not in allowed:
            raise Unreadable(f"{path}.extension[{index}] has the unknown url {shown(url)}")
        if url in parts:
            raise Unreadable(f"{path} has two {shown(url)} parts", "keep one")
        parts[url] = part
    return parts


def _required(parts: dict[str, Any], names: tuple[str, ...], path: str) -> None:
    for name in names:
        if name not in parts:
            raise Unreadable(f"{path} has no {name} part", "give the extension its parts")


def _variable_name(part: dict[str, Any], path: str) -> str:
    name = part.get("valueString")
    if type(name) is not str or not VARIABLE_NAME.fullmatch(name):
        raise Unreadable(
            f"{path} {shown(name)} is not an SDTM variable name",
            "correct it (a capital letter, then up to 7 capitals, digits or _)",
        )
    return name


def _value(part: dict[str, Any], path: str) -> None:
    """An SDTM value: valueString (Char) or valueDecimal (Num)."""
    if "valueString" in part:
        _text(part, "valueString", path)
    elif "valueDecimal" in part:
        value = part["valueDecimal"]
        if type(value) not in (int, float):
            raise Unreadable(f"{path}.valueDecimal is {json_kind(value)}, not a number")
    else:
        raise Unreadable(f"{path} has no valueString or valueDecimal")


def _text(part: dict[str, Any], key: str, path: str) -> None:
    if type(part.get(key)) is not str:
        raise Unreadable(f"{path}.{key} is {json_kind(part.get(key))}, not a string")


def _integer(part: dict[str, Any], key: str, path: str) -> None:
    if type(part.get(key)) is not int:
        raise Unreadable(f"{path}.{key} is {json_kind(part.get(key))}, not an integer")
