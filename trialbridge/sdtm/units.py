"""Unit conversion factors as data: the shipped table plus the study's own rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from trialbridge.study import UnitConversion


@dataclass(frozen=True)
class Conversions:
    """Multiply a value in `from` by `factor` to get it in `to`; a row with a test applies
    to that test only and wins over a generic row."""

    table: pd.DataFrame

    @classmethod
    def load(cls, extra: list[UnitConversion]) -> Conversions:
        text = resources.files("trialbridge.sdtm.standards").joinpath("unit_conversions.csv")
        rows = list(csv.DictReader(text.read_text("utf-8").splitlines()))
        rows += [
            {"from": c.from_, "to": c.to, "factor": str(c.factor), "test": c.test or ""}
            for c in extra
        ]
        table = pd.DataFrame(rows, columns=["from", "to", "factor", "test"])
        table["factor"] = table["factor"].astype("float64")
        # the study's rows come last and win over shipped ones for the same pair
        table = table.drop_duplicates(["from", "to", "test"], keep="last")
        return cls(table=table)

    def factors(self, unit: pd.Series, target: pd.Series, test: pd.Series) -> pd.Series:
        """Factor per row; 1 where the units agree; NaN where no conversion is known."""
        frame = pd.DataFrame({"from": unit, "to": target, "test": test.fillna("")})
        specific = frame.merge(self.table, on=["from", "to", "test"], how="left")["factor"]
        generic = frame.merge(
            self.table.loc[self.table["test"] == ""].drop(columns="test"),
            on=["from", "to"],
            how="left",
        )["factor"]
        factor = pd.Series(specific.fillna(generic).to_numpy(), index=unit.index)
        same = (unit == target).fillna(False).astype(bool) | (unit.isna() & target.isna())
        return factor.mask(same, 1.0)
