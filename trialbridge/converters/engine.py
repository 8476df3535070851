"""Execute domain specs: source rows -> mapped SDTM columns, with lineage, before derivations."""

from __future__ import annotations

import difflib
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pandas as pd
from pydantic import BaseModel

from trialbridge.converters import domains, references
from trialbridge.converters.reconciliation import BlockCount, Reconciliation
from trialbridge.converters.source_tables import read_tables
from trialbridge.converters.sources import COLUMN, LINEAGE
from trialbridge.converters.transforms import (
    EvalContext,
    columns_used,
    evaluate,
    fail_at,
    holds,
)
from trialbridge.errors import UserError
from trialbridge.mappings.spec import Block, DomainSpec, Join, LookupArgs
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.domain_frame import DomainFrame, Provenance
from trialbridge.sdtm.lineage import SUBJECT
from trialbridge.sdtm.metadata import DomainMeta
from trialbridge.study import StudyFolder
from trialbridge.yamlio import Lines, line_of, load_model

AUTOMATIC = ("STUDYID", "DOMAIN", "USUBJID")


class Mapper:
    """Maps every spec of a study folder, reading each source file once."""

    def __init__(self, folder: StudyFolder, ct: Terminology) -> None:
        self.folder = folder
        self.ct = ct
        self.sources: dict[str, pd.DataFrame] = {}
        self.built: dict[str, DomainFrame] = {}
        self.metas: dict[str, DomainMeta] = {}
        self.reconciliation = Reconciliation()

    def run(self) -> dict[str, DomainFrame]:
        specs = self._load_specs()
        references.check(self.folder, specs, self.metas)
        for domain in _build_order(specs):
            spec, lines, shown = specs[domain]
            self.built[domain] = self._map(spec, lines, shown)
        return self.built

    def _load_specs(self) -> dict[str, tuple[DomainSpec, Lines, str]]:
        specs: dict[str, tuple[DomainSpec, Lines, str]] = {}
        for i, name in enumerate(self.folder.study.domains):
            path = self.folder.spec_path(name)
            shown = self.folder.spec_shown(name)
            if not path.is_file():
                where = self.folder.where("domains", i)
                raise UserError(
                    f"mapping spec '{shown}' not found",
                    where,
                    "create it, or remove it from 'domains'",
                )
            spec, lines = load_model(path, DomainSpec, shown)
            if spec.domain in specs:
                raise UserError(f"domain {spec.domain} is mapped by two specs", shown)
            version = self.folder.study.sdtmig_version
            self.metas[spec.domain] = domains.resolve(spec, lines, shown, version, self.ct)
            specs[spec.domain] = (spec, lines, shown)
        return specs

    def source(self, name: str) -> pd.DataFrame:
        if name not in self.sources:
            tables = read_tables(self.folder, self.folder.study.source(name))
            for table_name, table in tables.items():
                file = self.folder.study.source(table_name).file
                self.reconciliation.source_read(table_name, file, table)
            for table_name, table in tables.items():  # a table set beforehand stays
                self.sources.setdefault(table_name, table)
        return self.sources[name]

    def table(self, name: str) -> pd.DataFrame:
        """A lookup table: an already-mapped domain, else a source table."""
        if name in self.built:
            return self.built[name].frame
        return self.source(name)

    def _map(self, spec: DomainSpec, lines: Lines, shown: str) -> DomainFrame:
        meta = self.metas[spec.domain]
        frames = [
            self._map_block(spec, meta, block, lines, shown, ("sources", i))
            for i, block in enumerate(spec.sources)
        ]
        frame = pd.concat(frames, ignore_index=True)
        melted = _melted_variables(spec)
        frame = _coerce_types(frame, meta, melted)
        _check_codelists(frame, meta, self.ct, melted)
        provenance: dict[str, Provenance] = {}
        for i, block in enumerate(spec.sources):
            for name, found in self._provenance(block, shown, lines, i).items():
                provenance[name] = provenance[name].merge(found) if name in provenance else found
        return DomainFrame(spec.domain, meta, frame, shown, spec, provenance)

    def _provenance(
        self, block: Block, shown: str, lines: Lines, index: int
    ) -> dict[str, Provenance]:
        """Each variable's origin and the spec line that sets it; a melted cell counts as
        every melted column, a joined column as the other table's column."""
        file = self.folder.study.source(block.source).file
        where = {c: f"{file}: {c}" for c in self.source(block.source).columns}
        for join in block.joins:
            shown = self._table_name(join.table)
            where.update({mine: f"{shown}: {theirs}" for theirs, mine in join.columns.items()})
        if block.melt:
            where[block.melt.value] = ", ".join(f"{file}: {c}" for c in block.melt.columns)

        def of(expr: Any, *path: Any) -> Provenance:
            melted = str(path[2]) if path[0] == "melt" else ""
            spec = {(file, melted, f"{shown}:{line_of(lines, ('sources', index, *path))}")}
            columns = sorted({c for c, _ in columns_used(expr, ())})
            if not columns:
                return Provenance("Assigned", spec=spec)
            return Provenance("Collected", {where.get(c, f"{file}: {c}") for c in columns}, spec)

        found = {name: of(expr, "variables", name) for name, expr in block.variables.items()}
        for column, sets in block.melt.columns.items() if block.melt else []:
            for name, expr in sets.items():
                one = of(expr, "melt", "columns", column, name)
                found[name] = found[name].merge(one) if name in found else one
        return found

    def _table_name(self, table: str) -> str:
        """A source table's file, or the domain's name."""
        if table in self.built:
            return table
        return self.folder.study.source(table).file

    def _map_block(
        self,
        spec: DomainSpec,
        meta: DomainMeta,
        block: Block,
        lines: Lines,
        shown: str,
        path: tuple[Any, ...],
    ) -> pd.DataFrame:
        def where(*keys: Any) -> str:
            return f"{shown}:{line_of(lines, (*path, *keys))}"

        if block.source not in {s.name for s in self.folder.study.sources}:
            raise UserError(
                f"source '{block.source}' is not defined in study.yaml",
                where("source"),
                "add it under 'sources' or fix the name",
            )
        if block.subject is None:
            raise UserError("block has no 'subject' column", where(), "name the SUBJID column")
        _check_targets(spec, meta, block, where)
        raw = self._joined(block, self.source(block.source), where)
        self._check_columns(block, raw, lines, shown, path)
        ctx = EvalContext(ct=self.ct, table=self.table, spec_where=where())
        rows_in = len(raw)
        if block.where is not None:
            raw = raw.loc[holds(block.where, raw)]
        rows = _melt(block, raw, ctx) if block.melt else raw
        melt_cells = len(raw) * len(block.melt.columns) if block.melt else 0
        self.reconciliation.blocks.append(
            BlockCount(
                domain=spec.domain,
                source=block.source,
                file=self.folder.study.source(block.source).file,
                rows_in=rows_in,
                rows_filtered=rows_in - len(raw),
                melt_cells=melt_cells,
                melt_empty=melt_cells - len(rows) if block.melt else 0,
                records=len(rows),
            )
        )
        out = pd.DataFrame(index=rows.index)
        for name, expr in block.variables.items():
            out[name] = evaluate(
                expr, rows, EvalContext(self.ct, self.table, where("variables", name))
            )
        if block.melt:
            # a melt column's own value wins on its rows; the block's value fills the others
            for name in sorted({n for sets in block.melt.columns.values() for n in sets}):
                out[name] = rows[name].combine_first(out[name]) if name in out else rows[name]
        out[SUBJECT] = rows[block.subject]
        for column in LINEAGE:
            out[column] = rows[column]
        missing = out[SUBJECT].isna()
        if missing.any():
            fail_at(out, missing, "subject id is missing", SUBJECT, "fill it", block.subject)
        return out.reset_index(drop=True)

    def _joined(self, block: Block, raw: pd.DataFrame, where: Any) -> pd.DataFrame:
        """The block's rows with each join's columns added (left join, one match at most)."""
        for i, join in enumerate(block.joins):
            here = where("joins", i)
            table = self.table(join.table)
            for mine, theirs in join.by.items():
                if mine not in raw:
                    raise UserError(f"join key '{mine}' is not a column of this block", here)
                if theirs not in table:
                    raise UserError(f"join key '{theirs}' is not in table '{join.table}'", here)
            absent = [c for c in join.columns if c not in table]
            clash = [n for n in join.columns.values() if n in raw]
            if absent or clash:
                what = (
                    f"no column {absent[0]} in '{join.table}'"
                    if absent
                    else (f"joined name '{clash[0]}' is already a column")
                )
                raise UserError(what, here, "fix 'columns' of the join")
            right = table[[*join.by.values(), *join.columns]]
            right = right.set_axis([*join.by.keys(), *join.columns.values()], axis=1)
            right = right.dropna(subset=list(join.by))  # a blank key matches nothing
            dup = right.duplicated(subset=list(join.by), keep=False)
            if dup.any():
                key = ", ".join(f"{t}={right.loc[dup, m].iloc[0]}" for m, t in join.by.items())
                raise UserError(
                    f"join with '{join.table}' is ambiguous: several rows have {key}",
                    here,
                    "join on a key that is unique in that table",
                )
            merged = raw.merge(right, how="left", on=list(join.by), validate="many_to_one")
            raw = merged.set_axis(raw.index)
        return raw

    def _check_columns(
        self, block: Block, raw: pd.DataFrame, lines: Lines, shown: str, path: tuple[Any, ...]
    ) -> None:
        available = set(raw.columns)
        used = [(block.subject, ("subject",))]
        for name, expr in block.variables.items():
            extra = {block.melt.value} if block.melt else set()
            used += [(c, p) for c, p in columns_used(expr, ("variables", name)) if c not in extra]
        if block.where is not None:
            used += list(columns_used(block.where, ("where",)))
        if block.melt:
            for column, sets in block.melt.columns.items():
                used.append((column, ("melt", "columns", column)))
                for name, expr in sets.items():
                    used += [
                        (c, p)
                        for c, p in columns_used(expr, ("melt", "columns", column, name))
                        if c != block.melt.value
                    ]
        self._mark_used(block, {str(c) for c, _ in used})
        file = self.folder.study.source(block.source).file
        for column, sub in used:
            if column not in available:
                close = difflib.get_close_matches(str(column), sorted(map(str, available)), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "check the export's header"
                raise UserError(
                    f"column '{column}' is not in {file}",
                    f"{shown}:{line_of(lines, (*path, *sub))}",
                    hint,
                )

    def _mark_used(self, block: Block, columns: set[str]) -> None:
        """The source columns a block reads, and those its joins and lookups read in other
        source tables (for the columns no spec reads, in the reconciliation)."""
        self.reconciliation.columns_used(block.source, columns)
        for node in _joins_and_lookups(block):
            self.reconciliation.columns_used(block.source, set(node.by))  # this block's keys
            if isinstance(node, Join):
                read = {*node.by.values(), *node.columns}
            else:
                read = {*node.by.values(), node.value}
            self.reconciliation.columns_used(node.table, read)


def _check_targets(spec: DomainSpec, meta: DomainMeta, block: Block, where: Any) -> None:
    names = set(block.variables)
    if block.melt:
        names |= {n for sets in block.melt.columns.values() for n in sets}
    for name in sorted(names):
        if name.startswith("_"):
            continue  # a link key for relationships: used, never written
        if name in AUTOMATIC:
            raise UserError(f"{name} is set automatically; remove it", where("variables", name))
        if meta.variable(name) is None and name not in spec.supplemental:
            raise UserError(
                f"{name} is not an {meta.domain} variable in SDTMIG 3.4",
                where("variables", name),
                "fix the name, or declare it under 'supplemental' for SUPP" + meta.domain,
            )


def _melt(block: Block, raw: pd.DataFrame, ctx: EvalContext) -> pd.DataFrame:
    """One row per (source row, listed column); the cell goes to the melt's value column."""
    assert block.melt is not None
    melt = block.melt
    pieces = []
    for column, sets in melt.columns.items():
        piece = raw.copy()
        piece[melt.value] = raw[column]
        piece[COLUMN] = column
        if not melt.keep_missing:
            piece = piece.loc[piece[melt.value].notna()]
        for name, expr in sets.items():
            piece[name] = evaluate(expr, piece, ctx)
        pieces.append(piece)
    frame = pd.concat(pieces, ignore_index=True)
    return frame


def _melted_variables(spec: DomainSpec) -> set[str]:
    """Variables whose value is the melted cell (errors about them name the melted column)."""
    found = set()
    for block in spec.sources:
        if block.melt:
            for name, expr in block.variables.items():
                if any(c == block.melt.value for c, _ in columns_used(expr, ())):
                    found.add(name)
    return found


def _coerce_types(frame: pd.DataFrame, meta: DomainMeta, melted: set[str]) -> pd.DataFrame:
    """Numeric variables to float; a value that is not a number is an error at its row."""
    for var in meta.variables:
        if var.type != "Num" or var.name not in frame:
            continue
        values = pd.to_numeric(frame[var.name], errors="coerce")
        bad = frame[var.name].notna() & values.isna()
        if bad.any():
            fail_at(
                frame,
                bad,
                f"{var.name} value '{{value}}' is not a number",
                var.name,
                "fix the source value",
                "",
                var.name in melted,
            )
        frame[var.name] = values.astype("float64")
    return frame


def _check_codelists(
    frame: pd.DataFrame, meta: DomainMeta, ct: Terminology, melted: set[str]
) -> None:
    """Values of variables bound to a non-extensible codelist must be submission values."""
    for var in meta.variables:
        if var.name not in frame or not var.codelist or var.type != "Char":
            continue
        codelist = ct.get(var.codelist)
        if codelist is None or codelist.extensible:
            continue
        bad = frame[var.name].notna() & ~frame[var.name].isin(list(codelist.terms))
        if bad.any():
            fail_at(
                frame,
                bad,
                f"{var.name} value '{{value}}' is not in the non-extensible codelist "
                f"{var.codelist}",
                var.name,
                "recode it to a CDISC submission value",
                "",
                var.name in melted,
            )


def _build_order(specs: dict[str, tuple[DomainSpec, Lines, str]]) -> list[str]:
    """Spec order, except that a domain read by another (join or lookup) is built first."""
    sorter: TopologicalSorter[str] = TopologicalSorter()
    for domain, (spec, _, _) in specs.items():
        reads = {t for block in spec.sources for t in _tables_read(block)}
        sorter.add(domain, *(t for t in reads if t in specs and t != domain))
    try:
        sorter.prepare()
    except CycleError as exc:
        raise UserError(
            f"lookups between domains form a cycle: {' -> '.join(reversed(exc.args[1]))}",
            "mappings/",
            "a domain cannot look up or join a domain that reads it",
        ) from None
    rank = {d: i for i, d in enumerate(specs)}
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=rank.__getitem__)
        order += ready
        sorter.done(*ready)
    return order


def _tables_read(node: Any) -> list[str]:
    """Tables a block reads besides its source: join and lookup targets, at any depth."""
    return [found.table for found in _joins_and_lookups(node)]


def _joins_and_lookups(node: Any) -> list[Join | LookupArgs]:
    """Every join and lookup in a spec node, at any depth."""
    if isinstance(node, Join | LookupArgs):
        return [node]
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        return [j for name in fields for j in _joins_and_lookups(getattr(node, name))]
    if isinstance(node, list | tuple):
        return [j for item in node for j in _joins_and_lookups(item)]
    if isinstance(node, dict):
        return [j for item in node.values() for j in _joins_and_lookups(item)]
    return []
