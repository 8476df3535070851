"""Unit conversions: the study's rows, then the shipped table, then UCUM (docs/units.md).

Units in data are CDISC CT UNIT submission values; `standards/cdisc_ucum.csv` gives each its
UCUM code (a unit it does not list is read as UCUM itself). UCUM also converts mass to amount
of substance with the test's molecular weight (`standards/molecular_weights.csv`, or the
study's `molecular_weights`). Every conversion is affine: value * factor + offset."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from trialbridge.sdtm.standards import rows
from trialbridge.study import UnitConversion

KEYS = ["from", "to", "test"]
ROW_FIX = "add the factor to unit_conversions in study.yaml"


@dataclass
class Conversions:
    """Where a factor comes from, in order: the study's row for the test, the study's row for
    any test, the shipped row, UCUM. `problems` keeps why UCUM refused a (from, to, test)."""

    table: pd.DataFrame  # from, to, test ('' = any), factor, rank (lower wins)
    ucum_codes: dict[str, str]  # CDISC unit -> UCUM code ('' = none)
    notes: dict[str, str]  # CDISC unit -> why it has no UCUM code
    weights: dict[str, float]  # test code -> g/mol
    valences: dict[str, float]  # test code -> charge number, for equivalents
    problems: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, extra: list[UnitConversion], weights: dict[str, float] | None = None
    ) -> Conversions:
        shipped = [
            dict(row, rank="2" if row["test"] else "3") for row in rows("unit_conversions.csv")
        ]
        study = [
            {
                "from": c.from_,
                "to": c.to,
                "factor": str(c.factor),
                "test": c.test or "",
                "rank": "0" if c.test else "1",
            }
            for c in extra
        ]
        table = pd.DataFrame(shipped + study, columns=[*KEYS, "factor", "rank"])
        table = table.astype({"factor": "float64", "rank": "int64"})
        # a later study row for the same pair and test wins over an earlier one
        table = table.drop_duplicates([*KEYS, "rank"], keep="last")
        codes = rows("cdisc_ucum.csv")
        molecules = rows("molecular_weights.csv")
        return cls(
            table=table,
            ucum_codes={row["cdisc"]: row["ucum"] for row in codes},
            notes={row["cdisc"]: row["note"] for row in codes if not row["ucum"]},
            weights={row["test"]: float(row["g_per_mol"]) for row in molecules} | (weights or {}),
            valences={row["test"]: float(row["valence"]) for row in molecules if row["valence"]},
        )

    def affine(
        self, unit: pd.Series, target: pd.Series, test: pd.Series
    ) -> tuple[pd.Series, pd.Series]:
        """(factor, offset) per row: value in `unit` * factor + offset = value in `target`;
        1 and 0 where the units agree; NaN where no conversion is known (see `problem`)."""
        frame = pd.DataFrame({"from": unit, "to": target, "test": test}).fillna("")
        pairs = frame.drop_duplicates().reset_index(drop=True)
        found = self._from_tables(pairs)
        pairs["factor"], pairs["offset"] = found, 0.0
        pairs.loc[pairs["from"] == pairs["to"], "factor"] = 1.0
        todo = pairs["factor"].isna() & (pairs["from"] != "") & (pairs["to"] != "")
        if todo.any():  # once per distinct (unit, standard unit, test)
            steps = [self._by_ucum(*keys) for keys in pairs.loc[todo, KEYS].itertuples(False)]
            pairs.loc[todo, ["factor", "offset"]] = steps
        rows = frame.merge(pairs, on=KEYS, how="left")
        factor = pd.Series(rows["factor"].to_numpy(), index=unit.index)
        missing = unit.isna() & target.notna()  # no unit to convert from: the caller says so
        factor = factor.mask(missing)
        offset = pd.Series(rows["offset"].to_numpy(), index=unit.index).where(factor.notna())
        return factor, offset

    def problem(self, unit: str, target: str, test: str) -> tuple[str, str]:
        """(what, fix) for a pair `affine` found no conversion for."""
        head = f"no conversion from {unit} to {target} for {test}"
        why, fix = self.problems.get((unit, target, test), ("", ROW_FIX))
        return (f"{head}: {why}" if why else head), fix

    def _from_tables(self, pairs: pd.DataFrame) -> pd.Series:
        """The factor of the best-ranked table row per pair (NaN where none)."""
        keyed = pairs[KEYS].reset_index()
        specific = keyed.merge(self.table[self.table["test"] != ""], on=KEYS)
        generic = keyed.merge(
            self.table[self.table["test"] == ""].drop(columns="test"), on=["from", "to"]
        )
        best = pd.concat([specific, generic]).sort_values(["index", "rank"])
        best = best.drop_duplicates("index").set_index("index")["factor"]
        return best.reindex(pairs.index).astype("float64")

    def _by_ucum(self, unit: str, target: str, test: str) -> tuple[float, float]:
        """(factor, offset) by UCUM, or (NaN, NaN) with the reason kept in `problems`."""
        from trialbridge.sdtm import ucum  # lazily: the UCUM grammar takes a while to load

        codes = [self._code(one) for one in (unit, target)]
        bad = [one for one, code in zip((unit, target), codes, strict=True) if code is None]
        if not bad:
            try:
                weight, valence = self.weights.get(test), self.valences.get(test)
                step = ucum.ucum().affine(*codes, weight, valence, (unit, target))
                return step.factor, step.offset
            except ucum.Refused as refused:
                why, fix = refused.why, refused.fix
        else:
            why, fix = self._unknown(bad[0])
        self.problems[(unit, target, test)] = (
            why.replace("{TEST}", test),
            fix.replace("{TEST}", test),
        )
        return math.nan, math.nan

    def _code(self, unit: str) -> str | None:
        """The UCUM code of a CDISC unit, or the unit itself if it is UCUM; None if neither."""
        from trialbridge.sdtm import ucum

        code = self.ucum_codes.get(unit, unit) or None
        return code if code is not None and ucum.ucum().parse(code) is not None else None

    def _unknown(self, unit: str) -> tuple[str, str]:
        if unit in self.notes:
            why = f"the CDISC unit {unit} has no UCUM code ({self.notes[unit]})"
        else:
            why = f"{unit} is neither a CDISC unit with a UCUM code nor a UCUM code"
        return why, ROW_FIX


def markdown_tables() -> str:
    """The shipped tables as docs/units.md lists them (a test keeps the two equal)."""
    conversions = rows("unit_conversions.csv")
    codes = rows("cdisc_ucum.csv")
    molecules = rows("molecular_weights.csv")
    lines = ["### Shipped conversion rows (`unit_conversions.csv`)", ""]
    lines += ["| from | to | factor | test |", "| --- | --- | --- | --- |"]
    lines += [f"| `{r['from']}` | `{r['to']}` | {r['factor']} | {r['test']} |" for r in conversions]
    lines += ["", "### Molecular weights (`molecular_weights.csv`)", ""]
    lines += ["| test | g/mol | valence | substance | source |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {r['test']} | {r['g_per_mol']} | {r['valence']} | {r['substance']} | {r['source']} |"
        for r in molecules
    ]
    lines += ["", "### CDISC units and their UCUM codes (`cdisc_ucum.csv`)", ""]
    lines += ["| CDISC | UCUM | note |", "| --- | --- | --- |"]
    lines += [f"| `{r['cdisc']}` | `{r['ucum']}` | {r['note']} |" for r in codes if r["ucum"]]
    lines += ["", "### CDISC units without a UCUM code", ""]
    reasons: dict[str, list[str]] = {}
    for row in codes:
        if not row["ucum"]:
            reasons.setdefault(row["note"], []).append(f"`{row['cdisc']}`")
    for reason, units in sorted(reasons.items()):
        lines += [f"- {reason}: {', '.join(units)}"]
    return "\n".join(lines) + "\n"
