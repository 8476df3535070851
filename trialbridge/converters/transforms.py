"""The closed vocabulary of transforms a spec may name, each evaluated on whole columns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from trialbridge.converters.dates import assemble
from trialbridge.errors import UserError
from trialbridge.mappings.spec import (
    Concat,
    Condition,
    Constant,
    Copy,
    Date,
    Expr,
    Lookup,
    Recode,
    When,
)
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.lineage import fail_at


@dataclass(frozen=True)
class EvalContext:
    """What a transform may see besides its own rows."""

    ct: Terminology
    table: Callable[[str], pd.DataFrame]
    spec_where: str


def text(values: Any, index: pd.Index) -> pd.Series:
    """A text column of a constant."""
    return pd.Series(str(values), index=index, dtype="str")


def evaluate(expr: Expr, frame: pd.DataFrame, ctx: EvalContext) -> pd.Series:
    """The expression's value for every row of `frame`, as text (NA = missing)."""
    match expr:
        case Copy():
            return frame[expr.copy_].astype("str").where(frame[expr.copy_].notna())
        case Constant():
            return text(expr.constant, frame.index)
        case Recode():
            return _recode(expr, frame, ctx)
        case Date():
            return _date(expr, frame)
        case Concat():
            return _concat(expr, frame, ctx)
        case Lookup():
            return _lookup(expr, frame, ctx)
        case When():
            return _when(expr, frame, ctx)
    raise TypeError(f"unknown transform {expr!r}")


def _recode(expr: Recode, frame: pd.DataFrame, ctx: EvalContext) -> pd.Series:
    args = expr.recode
    source = frame[args.column]
    codelist = ctx.ct.get(args.codelist) if args.codelist else None
    if args.codelist and codelist is None:
        raise UserError(
            f"unknown codelist '{args.codelist}'", ctx.spec_where, "use a CT short name"
        )
    table: dict[str, str | None] = {}
    for value in source.dropna().unique():
        target = args.map.get(value)
        if target is None and codelist is not None:
            target = codelist.normalise(value)
        table[value] = target
    result = source.map(table).astype("str").where(source.map(table).notna())
    unmapped = source.notna() & result.isna()
    if unmapped.any():
        where = f" or codelist {args.codelist}" if args.codelist else ""
        fail_at(
            frame,
            unmapped,
            f"value '{{value}}' has no mapping in the recode map{where}",
            args.column,
            f"add it to the recode map ({ctx.spec_where})",
        )
    return result


def _date(expr: Date, frame: pd.DataFrame) -> pd.Series:
    args = expr.date
    times = frame[args.time] if args.time else None
    out = assemble(frame[args.column], args.format, args.unknown, times)
    if out.bad_date.any():
        fail_at(
            frame,
            out.bad_date,
            f"'{{value}}' is not a valid date in the format {args.format}",
            args.column,
            "correct the source value (unknown parts as UN)",
        )
    if out.bad_time.any() and args.time:
        fail_at(frame, out.bad_time, "'{value}' is not a valid time (HH:MM)", args.time, "fix it")
    return out.iso


def _concat(expr: Concat, frame: pd.DataFrame, ctx: EvalContext) -> pd.Series:
    sep = expr.concat.separator
    result: pd.Series | None = None
    for part in expr.concat.parts:
        value = evaluate(part, frame, ctx)
        if result is None:
            result = value
            continue
        both = result.notna() & value.notna()
        result = result.where(result.notna(), value).mask(both, result + sep + value)
    assert result is not None  # the spec model requires at least one part
    return result


def _lookup(expr: Lookup, frame: pd.DataFrame, ctx: EvalContext) -> pd.Series:
    args = expr.lookup
    table = ctx.table(args.table)
    wanted = [*args.by.values(), args.value]
    absent = [c for c in wanted if c not in table.columns]
    if absent:
        raise UserError(
            f"lookup table '{args.table}' has no column(s) {', '.join(absent)}", ctx.spec_where
        )
    right = table[wanted].dropna(subset=list(args.by.values()))
    dup = right.duplicated(subset=list(args.by.values()), keep=False)
    if dup.any():
        key = ", ".join(f"{c}={right.loc[dup, c].iloc[0]}" for c in args.by.values())
        raise UserError(
            f"lookup into '{args.table}' is ambiguous: several rows have {key}",
            ctx.spec_where,
            "look up by a key that is unique in that table",
        )
    left = frame[list(args.by)].astype("str").set_axis(list(args.by.values()), axis=1)
    merged = left.merge(right.astype("str"), how="left", on=list(args.by.values()))
    return pd.Series(merged[args.value].to_numpy(), index=frame.index, dtype="str")


def _when(expr: When, frame: pd.DataFrame, ctx: EvalContext) -> pd.Series:
    """Each branch is evaluated on its own rows only, so a date inside `then` never sees the
    rows its condition excludes."""
    args = expr.when
    result = pd.Series(pd.NA, index=frame.index, dtype="str")
    undecided = pd.Series(True, index=frame.index)
    for case in args.cases:
        mask = holds(case.if_, frame) & undecided
        if mask.any():
            result.loc[mask] = evaluate(case.then, frame.loc[mask], ctx)
        undecided &= ~mask
    if args.otherwise is not None and undecided.any():
        result.loc[undecided] = evaluate(args.otherwise, frame.loc[undecided], ctx)
    return result


def holds(cond: Condition, frame: pd.DataFrame) -> pd.Series:
    """Boolean mask of the rows where the condition is true (missing never equals anything)."""
    if cond.all is not None:
        masks = [holds(c, frame) for c in cond.all]
        return pd.concat(masks, axis=1).all(axis=1)
    if cond.any is not None:
        masks = [holds(c, frame) for c in cond.any]
        return pd.concat(masks, axis=1).any(axis=1)
    assert cond.column is not None
    column = frame[cond.column]
    if cond.missing is not None:
        return column.isna() if cond.missing else column.notna()
    if cond.equals is not None:
        return (column == str(cond.equals)).fillna(False).astype(bool)
    if cond.not_equals is not None:
        return (column != str(cond.not_equals)).fillna(True).astype(bool)
    if cond.in_ is not None:
        return column.isin([str(v) for v in cond.in_])
    assert cond.not_in is not None
    return ~column.isin([str(v) for v in cond.not_in])


def columns_used(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every source column an expression or condition reads, with its YAML path."""
    match node:
        case Copy():
            yield node.copy_, (*path, "copy")
        case Recode():
            yield node.recode.column, (*path, "recode", "column")
        case Date():
            yield node.date.column, (*path, "date", "column")
            if node.date.time:
                yield node.date.time, (*path, "date", "time")
        case Concat():
            for i, part in enumerate(node.concat.parts):
                yield from columns_used(part, (*path, "concat", "parts", i))
        case Lookup():
            for column in node.lookup.by:
                yield column, (*path, "lookup", "by", column)
        case When():
            for i, case in enumerate(node.when.cases):
                yield from columns_used(case.if_, (*path, "when", "cases", i, "if"))
                yield from columns_used(case.then, (*path, "when", "cases", i, "then"))
            if node.when.otherwise is not None:
                yield from columns_used(node.when.otherwise, (*path, "when", "else"))
        case Condition():
            if node.column:
                yield node.column, (*path, "column")
            for key, conds in (("all", node.all), ("any", node.any)):
                for i, cond in enumerate(conds or []):
                    yield from columns_used(cond, (*path, key, i))
