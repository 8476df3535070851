"""Resources as JSON text, rendered a column at a time.

A table's paths form a tree of objects, lists and leaves; a leaf is a column of JSON values
(null where the record has none) or a constant. Records whose leaves are present in the same
places share a *shape*, and all records of a shape are the same literal text with their values
in between: `{"resourceType":"Observation","id":` v1 `,"subject":{"reference":` v2 `}` ... So
each shape is one Arrow join over its columns: the output bytes are written once, however
deep the nesting, and absent values leave no trace (FHIR forbids empty elements)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir.paths import compact_lists, steps

TEXT = pa.large_string()
SLICE = 50_000  # records joined at a time


@dataclass
class Leaf:
    """JSON values (or one constant), written between `prefix` and `suffix` where present."""

    column: pa.Array | None
    _: KW_ONLY
    constant: str | None = None
    prefix: str = ""
    suffix: str = ""


@dataclass
class Node:
    """An object (children by name, in the order first added), a list (children by index;
    with `compact`, absent items are skipped rather than kept as `{}`), or a leaf."""

    children: dict[str | int, Node] = field(default_factory=dict)
    leaf: int | None = None
    is_list: bool = False
    compact: bool = False


Piece = str | int  # literal text, or the number of a leaf


class Tree:
    """The shape of one resource type's JSON, filled with columns of `length` records."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.root = Node()
        self.leaves: list[Leaf] = []
        self._shapes: tuple[np.ndarray, np.ndarray] | None = None
        self._gap_table: list[list[str]] | None = None

    def put(self, path: str, leaf: Leaf) -> None:
        """Place a leaf at a path (`code.coding[0].code`)."""
        node = self.root
        parts = steps(path)
        compact = compact_lists(path)
        for position, (name, index) in enumerate(parts):
            kind = Node(is_list=index is not None, compact=name in compact)
            node = node.children.setdefault(name, kind)
            if index is not None:
                node = node.children.setdefault(index, Node())
            if position == len(parts) - 1:
                if node.children or node.leaf is not None:
                    raise ValueError(f"FHIR path '{path}' is set twice or has children")
                node.leaf = self._add(leaf)

    def append_items(self, name: str, leaf: Leaf) -> None:
        """Add a leaf holding whole items of the root list `name` (several comma-joined)."""
        node = self.root.children.setdefault(name, Node(is_list=True, compact=True))
        node.children[len(node.children)] = Node(leaf=self._add(leaf))

    def _add(self, leaf: Leaf) -> int:
        if leaf.column is not None and len(leaf.column) != self.length:
            raise ValueError(f"a column of {len(leaf.column)} values for {self.length} records")
        self.leaves.append(leaf)
        self._shapes = self._gap_table = None
        return len(self.leaves) - 1

    def shapes(self) -> tuple[np.ndarray, np.ndarray]:
        """(shape number of each record, first record of each shape)."""
        if self._shapes is None:
            self._shapes = _shapes(self.leaves, self.length)
        return self._shapes

    def render(self, rows: np.ndarray | None = None) -> pa.Array | pa.ChunkedArray:
        """The JSON of the given records (all when None), in the order given: one join of
        every value column with, between them, the literal text each record's shape puts
        there (a tiny per-shape table, looked up by shape number)."""
        rows = np.arange(self.length) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(rows) > 2 * SLICE:  # slices on every core: smaller joins, and in parallel
            slices = [rows[i : i + SLICE] for i in range(0, len(rows), SLICE)]
            self._gaps()
            with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
                return pa.chunked_array(list(pool.map(self.render, slices)), TEXT)
        labels, _ = self.shapes()
        shape_of = pa.array(labels[rows])
        if len(rows) == 0:
            return pa.array([], TEXT)
        contiguous = bool((np.diff(rows) == 1).all())
        args: list[Any] = []
        for gap, number in zip(self._gaps(), [*self._values(), None], strict=True):
            distinct = set(gap)
            if len(distinct) == 1:
                args.append(pa.scalar(gap[0], TEXT))
            else:
                args.append(pa.array(gap, TEXT).take(shape_of))
            if number is not None:
                column = self.leaves[number].column
                assert column is not None
                args.append(
                    column.slice(int(rows[0]), len(rows)) if contiguous else column.take(rows)
                )
        if all(isinstance(a, pa.Scalar) for a in args):
            return pa.array(["".join(a.as_py() for a in args)] * len(rows), TEXT)
        if len(args) == 1:
            return args[0]
        blank = pa.scalar("", TEXT)
        return pc.binary_join_element_wise(
            *args, blank, null_handling="replace", null_replacement=""
        )

    def _values(self) -> list[int]:
        """The value leaves in the order the JSON holds them."""
        out: list[int] = []

        def visit(node: Node) -> None:
            if node.leaf is not None:
                if self.leaves[node.leaf].column is not None:
                    out.append(node.leaf)
                return
            keys = sorted(node.children) if node.is_list else list(node.children)
            for key in keys:
                visit(node.children[key])

        visit(self.root)
        return out

    def _gaps(self) -> list[list[str]]:
        """For each value leaf (and the end), the literal text before it, per shape."""
        if self._gap_table is None:
            _, firsts = self.shapes()
            values = self._values()
            position = {number: i for i, number in enumerate(values)}
            table = [[""] * len(firsts) for _ in range(len(values) + 1)]
            for shape, record in enumerate(firsts):
                text = ""
                for piece in self._pieces(int(record)):
                    if isinstance(piece, str):
                        text += piece
                    else:
                        table[position[piece]][shape] = text
                        text = ""
                table[-1][shape] = text
            self._gap_table = table
        return self._gap_table

    def _pieces(self, record: int) -> list[Piece]:
        """The literal text and leaf numbers of a record's shape."""
        present = {
            number
            for number, leaf in enumerate(self.leaves)
            if leaf.column is None or leaf.column[record].is_valid
        }
        return _merged(_skeleton(self.root, present, self.leaves) or ["{}"])


def _skeleton(node: Node, present: set[int], leaves: list[Leaf]) -> list[Piece] | None:
    if node.leaf is not None:
        if node.leaf not in present:
            return None
        leaf = leaves[node.leaf]
        value: Piece = leaf.constant if leaf.constant is not None else node.leaf
        return [leaf.prefix, value, leaf.suffix]
    if node.is_list:
        return _list_skeleton(node, present, leaves)
    parts = [
        (key, rendered)
        for key, child in node.children.items()
        if (rendered := _skeleton(child, present, leaves)) is not None
    ]
    if not parts:
        return None
    out: list[Piece] = ["{"]
    for position, (key, rendered) in enumerate(parts):
        out += [("," if position else "") + f'"{key}":', *rendered]
    return [*out, "}"]


def _list_skeleton(node: Node, present: set[int], leaves: list[Leaf]) -> list[Piece] | None:
    items = [_skeleton(node.children[i], present, leaves) for i in sorted(node.children)]
    if node.compact:
        items = [item for item in items if item is not None]
    else:  # keep positions: an absent item before a present one stays as {} (ele-1)
        last = max((i for i, item in enumerate(items) if item is not None), default=-1)
        items = [item if item is not None else ["{}"] for item in items[: last + 1]]
    if not items:
        return None
    out: list[Piece] = ["["]
    for position, item in enumerate(items):
        out += ([","] if position else []) + item
    return [*out, "]"]


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Adjacent literal texts joined into one."""
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and out and isinstance(out[-1], str):
            out[-1] += piece
        elif piece != "":
            out.append(piece)
    return out


def _shapes(leaves: list[Leaf], length: int) -> tuple[np.ndarray, np.ndarray]:
    varying = [
        pc.is_valid(leaf.column).to_numpy(zero_copy_only=False)
        for leaf in leaves
        if leaf.column is not None and leaf.column.null_count > 0
    ]
    if length == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not varying:
        return np.zeros(length, dtype=np.int64), np.zeros(1, dtype=np.int64)
    packed = np.packbits(np.column_stack(varying), axis=1)
    width = -(-packed.shape[1] // 8) * 8
    words = np.zeros((length, width), dtype=np.uint8)
    words[:, : packed.shape[1]] = packed
    keys = words.view(np.uint64)
    if keys.shape[1] == 1:
        labels = pd.factorize(keys[:, 0])[0]
    else:
        labels = pd.DataFrame(keys).groupby(list(range(keys.shape[1])), sort=False).ngroup()
        labels = labels.to_numpy()
    _, firsts = np.unique(labels, return_index=True)
    return labels.astype(np.int64), firsts


def constant(value: Any) -> Leaf:
    """A fixed value, as JSON."""
    return Leaf(None, constant=json.dumps(value, separators=(",", ":"), ensure_ascii=False))


NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def escaped(values: Any) -> pa.Array:
    """Text values as the inside of JSON strings (no quotes); nulls stay null. Only the rare
    values with quotes, backslashes or control characters are rewritten (by json.dumps)."""
    array = pa.array(values, TEXT, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    special = pc.fill_null(pc.match_substring_regex(array, NEEDS_ESCAPE), False)
    if not pc.any(special).as_py():
        return array
    fixed = [json.dumps(v, ensure_ascii=False)[1:-1] for v in array.filter(special).to_pylist()]
    return pc.replace_with_mask(array, special, pa.array(fixed, TEXT))


def text_leaf(values: Any, prefix: str = "", suffix: str = "") -> Leaf:
    """A leaf of JSON strings: the quotes live in the literal text around the values."""
    return Leaf(escaped(values), prefix=f'{prefix}"', suffix=f'"{suffix}')


def strings(values: Any) -> pa.Array:
    """Text values as JSON strings (quoted); nulls stay null."""
    return wrap_each('"', escaped(values), '"')


def text_column(column: pd.Series) -> pa.Array:
    """A text column as Arrow text; missing and blank values (SDTM does not tell them apart:
    XPT pads with spaces) as nulls."""
    column = column.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return numbers(column)  # a sponsor's Num where SDTMIG has Char (LBORRES 13.1)
    if isinstance(column.dtype, pd.StringDtype):
        array = pa.array(column)
        if isinstance(array, pa.ChunkedArray):  # pandas keeps concatenated frames in chunks
            array = array.combine_chunks()
        array = pc.cast(array, TEXT)
    else:
        array = pa.array(column.astype(object).where(column.notna(), None), TEXT)
    blank = pc.equal(pc.utf8_rtrim_whitespace(array), "")
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, TEXT), array)


def numbers(values: Any) -> pa.Array:
    """Numbers as JSON numbers, shortest text that reads back exactly (3.0 -> 3); NaN is
    missing. Infinities have no JSON form: callers refuse them first (finite_numbers)."""
    array = pa.array(values, pa.float64(), from_pandas=True)
    return pc.cast(pc.cast(array, pa.string()), TEXT)


def scatter(rows: np.ndarray, fragments: pa.Array, length: int) -> pa.Array:
    """Fragments that belong to records `rows` (in any order), comma-joined per record in
    their given order and aligned to `length` records (null where a record has none)."""
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    owners, starts = np.unique(ordered, return_index=True)
    offsets = pa.array(np.append(starts, len(ordered)), pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, fragments.take(pa.array(order)))
    joined = pc.binary_join(lists, pa.scalar(",", TEXT))
    position = np.full(length, -1, dtype=np.int64)
    position[owners] = np.arange(len(owners))
    return joined.take(pa.array(position, mask=position < 0))


def join_columns(columns: list[pa.Array], separator: str = ",") -> pa.Array:
    """The present fragments of each record, joined; null when none is present."""
    mark = pa.scalar(separator, TEXT)
    blank = pa.scalar("", TEXT)
    led = [pc.fill_null(pc.binary_join_element_wise(mark, c, blank), blank) for c in columns]
    joined = pc.binary_join_element_wise(*led, blank) if len(led) > 1 else led[0]
    joined = pc.utf8_slice_codeunits(joined, len(separator))
    return pc.if_else(pc.equal(joined, blank), pa.scalar(None, TEXT), joined)


def wrap_each(prefix: str, column: pa.Array, suffix: str) -> pa.Array:
    """prefix + fragment + suffix where the fragment is present."""
    return pc.binary_join_element_wise(
        pa.scalar(prefix, TEXT), column, pa.scalar(suffix, TEXT), pa.scalar("", TEXT)
    )
