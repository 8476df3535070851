"""What a run leaves empty that a reviewer expects filled: a derived variable empty on some
records (with the reason its derivation gives), or an Expected variable empty on every record.
Each is one counted warning, so a gap is never silent."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.standards import rows

EXPECTED = "Expected, and no spec maps it nor does a derivation fill it"
NO_SOURCE_VALUE = "Expected; the spec maps it, but no source record has a value"


@dataclass(frozen=True)
class LeftEmpty:
    """`records` of a dataset's `of` records have no value of `variable`, because `why`."""

    dataset: str
    variable: str
    records: int
    of: int
    why: str

    def line(self) -> str:
        where = f"{self.dataset}.{self.variable}"
        return f"{where} is empty on {self.records:,} of {self.of:,} records: {self.why}"


@cache
def _reasons() -> dict[str, str]:
    """Variable (-- for the domain prefix) -> why its derivation leaves it empty; '' where
    empty is itself the answer (DTHFL of a subject who did not die)."""
    table = rows("left_empty_reasons.csv")
    return {row["variable"]: "" if row["empty_means"] else row["why"] for row in table}


def left_empty(datasets: dict[str, Dataset], mapped: dict[str, set[str]]) -> list[LeftEmpty]:
    """One warning per variable left empty, in dataset and variable order. `mapped` names each
    domain's variables that a spec maps (the rest were derived, or not there at all)."""
    found = []
    for name, data in datasets.items():
        if name not in mapped:  # trial design, SUPP--, RELREC: built whole from the study
            continue
        for var in data.variables:
            empty = int(data.frame[var.name].isna().sum())
            if not empty:
                continue
            why = _why(name, var.name, var.core, var.name in mapped[name], empty == len(data.frame))
            if why:
                found.append(LeftEmpty(name, var.name, empty, len(data.frame), why))
    return found


def _why(domain: str, variable: str, core: str, is_mapped: bool, all_empty: bool) -> str | None:
    reasons = _reasons()
    generic = "--" + variable[len(domain) :] if variable.startswith(domain) else variable
    derived = reasons.get(variable, reasons.get(generic))
    if derived == "":
        return None
    if derived and not is_mapped:
        return derived
    if core == "Exp" and all_empty:
        return NO_SOURCE_VALUE if is_mapped else EXPECTED
    return None
