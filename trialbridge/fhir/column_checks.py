"""Validate what the build rendered without reading a million resources one by one.

Two records of a table whose columns are present in the same places, and whose values agree
where a rule looks at values (required bindings, the elements an invariant `reads`), render to
resources that every structural rule judges the same. So the full validator (checks.py) runs
on one resource per such shape, and its findings hold for every record of the shape; the
rules that look at each value (references resolve, dates are FHIR dates, numbers are finite,
strings are not blank) run on the whole columns at once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir import render
from trialbridge.fhir.build import Built
from trialbridge.fhir.checks import Finding, check, facts, holds
from trialbridge.fhir.encode import Placed

# FHIR R4 dateTime, with month, day and time parts in range (the calendar itself was checked
# when the SDTM value was converted)
_FHIR_DATETIME = (
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00)))?)?)?$"
)


def validate_built(built: list[Built]) -> list[Finding]:
    """Every resource of every dataset."""
    known = pa.concat_arrays([render.wrap_each(f"{b.resource}/", b.ids, "") for b in built])
    known_set = _resolved([r for b in built if b.tree is None for r in b.dicts], known)
    findings: list[Finding] = []
    for one in built:
        if one.tree is None:
            for resource in one.dicts:
                findings += check(resource, known_set)
            continue
        findings += _by_shape(one)
        findings += _by_value(one, known)
    return findings


def _resolved(resources: list[dict[str, Any]], known: pa.Array) -> set[str]:
    """The references these resources make that resolve among `known`: all a check of theirs
    asks about (a set of every id in a large output would cost more than their checks)."""
    found: list[str] = []
    stack: list[Any] = list(resources)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            target = node.get("reference")
            if isinstance(target, str):
                found.append(target)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    targets = pa.array(found, known.type)
    return set(pc.filter(targets, pc.is_in(targets, value_set=known)).to_pylist())


def _watched(resource: str, placed: set[str]) -> set[str]:
    """Element paths whose values, not only presence, decide a structural rule (but those
    only an `only_reads` invariant looks at: see _reads_only, and those of an invariant whose
    `when` element the resources do not have: a profile's, where none claims one)."""
    rules = facts()
    paths = {p for p in rules.bindings if p.partition(".")[0] == resource}
    for invariant in rules.invariants:
        idle = invariant.when is not None and f"{resource}.{invariant.when}" not in placed
        if invariant.only_reads or idle:
            continue
        for context in invariant.context:
            if context.partition(".")[0] == resource:
                paths |= {f"{context}.{read}" for read in invariant.reads}
    return paths


def _by_shape(built: Built) -> list[Finding]:
    assert built.tree is not None
    labels, _ = built.tree.shapes()
    key = {"shape": labels}
    watched = _watched(built.resource, {p.element(built.resource) for p in built.placed})
    for number, placed in enumerate(built.placed):
        if placed.element(built.resource) in watched:
            key[f"value{number}"] = pd.factorize(placed.values.to_pandas())[0]
    groups = pd.DataFrame(key).groupby(list(key), sort=False)
    labels = groups.ngroup().to_numpy()
    firsts = groups.head(1).index.to_numpy()
    findings: list[Finding] = []
    skip = frozenset(i.key for i in facts().invariants if i.only_reads)
    for label, row in enumerate(firsts):
        text = built.texts(np.array([row]))[0].as_py()
        found = check(json.loads(text), known=None, skip=skip)
        if found:
            members = np.flatnonzero(labels == label)
            findings += _expand(built, members, [(f.rule, f.message) for f in found])
    return findings + _reads_only(built)


def _reads_only(built: Built) -> list[Finding]:
    """The `only_reads` invariants (a period's start before its end), on each distinct
    combination of the values they read: a few thousand small checks, not one per record."""
    findings: list[Finding] = []
    for invariant in [i for i in facts().invariants if i.only_reads]:
        for context in invariant.context:
            if context.partition(".")[0] != built.resource:
                continue
            columns = {
                read: placed.values
                for read in invariant.reads
                for placed in built.placed
                if placed.element(built.resource) == f"{context}.{read}"
                and placed.codec != "original-text"
            }
            if not columns:
                continue
            frame = pd.DataFrame({k: v.to_pandas() for k, v in columns.items()})
            frame = frame.astype(object).where(frame.notna(), None)
            rows, undecided = _ordered(invariant.ordered, frame)
            if rows.size:
                findings += _expand(built, rows, [(invariant.key, invariant.human)])
            frame = frame[undecided]
            keys = pd.MultiIndex.from_frame(frame.fillna("")).factorize()[0]
            _, firsts = np.unique(keys, return_index=True)
            for first in firsts:
                values = frame.iloc[int(first)].to_dict()
                if not holds(invariant, context, values):
                    rows = frame.index.to_numpy()[keys == keys[first]]
                    findings += _expand(built, rows, [(invariant.key, invariant.human)])
    return findings


def _ordered(pair: list[str], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For an invariant `lower <= upper`: the records whose two values, written alike (same
    length, same zone or none), are out of order as text; and the mask of those it leaves
    to FHIRPath (values written differently: a date beside a date-time)."""
    if len(pair) != 2 or not set(pair) <= set(frame.columns):
        return np.zeros(0, dtype=np.int64), np.ones(len(frame), dtype=bool)
    lower, upper = (pa.array(frame[name], render.TEXT, from_pandas=True) for name in pair)
    both = pc.and_(pc.is_valid(lower), pc.is_valid(upper))
    same_length = pc.equal(pc.utf8_length(lower), pc.utf8_length(upper))
    zone = [pc.utf8_slice_codeunits(v, 19) for v in (lower, upper)]
    alike = pc.fill_null(pc.and_(pc.and_(same_length, pc.equal(*zone)), both), False)
    wrong = pc.fill_null(pc.and_(alike, pc.greater(lower, upper)), False)
    undecided = pc.fill_null(pc.and_(both, pc.invert(alike)), False)
    return _rows(wrong), undecided.to_numpy(zero_copy_only=False)


def _by_value(built: Built, known: pa.Array) -> list[Finding]:
    findings: list[Finding] = []
    for placed in built.placed:
        for rows, rule, message in _value_rules(placed, built.resource, known):
            findings += _expand(built, rows, [(rule, message)])
    return findings


def _value_rules(
    placed: Placed, resource: str, known: pa.Array
) -> Iterable[tuple[np.ndarray, str, str]]:
    values, path = placed.values, placed.element(resource)
    if placed.codec == "reference":
        # the few distinct targets looked up among all ids (a lookup table of the distinct
        # values, not of every id in the output, for each column)
        targets = pc.unique(pc.drop_null(values))
        present = pc.filter(known, pc.is_in(known, value_set=targets))
        bad = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=present)))
        yield _rows(bad), "reference", f"{path}.reference does not resolve in this output"
    elif placed.codec == "dateTime":
        fhir = _per_distinct(values, lambda v: pc.match_substring_regex(v, _FHIR_DATETIME))
        bad = pc.invert(fhir)
        yield _rows(bad), "dateTime", f"{path} is not a FHIR dateTime"
    elif placed.codec in ("decimal", "integer"):
        bad = pc.invert(pc.is_finite(values))
        yield _rows(bad), "decimal", f"{path} is not a finite number"
    else:
        blank = _per_distinct(values, lambda v: pc.equal(pc.utf8_trim_whitespace(v), ""))
        yield _rows(blank), "ele-1", f"{path} is blank; an element needs a value"


def _per_distinct(values: pa.Array, test: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """A text test run once per distinct value (dates and codes repeat over the records),
    then spread back over them; null stays null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = pc.dictionary_encode(values)
    return test(encoded.dictionary).take(encoded.indices)


def _rows(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


def _expand(built: Built, rows: np.ndarray, found: list[tuple[str, str]]) -> list[Finding]:
    sources = built.sources
    return [
        Finding(
            f"{built.resource}/{built.ids[int(row)].as_py()}",
            rule,
            message,
            ", ".join([f"SDTM {built.dataset}"] + ([sources[row]] if sources[row] else [])),
        )
        for row in rows
        for rule, message in found
    ]
