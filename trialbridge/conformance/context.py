"""What a check sees: the dataset under test, every dataset of the submission (for checks
across datasets: subjects in DM, SUPP-- parents), the terminology, the define.xml and the
domain prefix."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.define_read import Define, DefinedDataset
from trialbridge.sdtm.metadata import VariableMeta, standard_domains


@dataclass
class Context:
    dataset: Dataset
    domain: str  # LB for the split dataset LBCH
    datasets: dict[str, Dataset]
    terminology: Terminology
    define: Define | None = None  # the folder's define.xml, when it has one

    @property
    def frame(self) -> pd.DataFrame:
        return self.dataset.frame

    def name(self, variable: str) -> str:
        """--SEQ -> LBSEQ."""
        return self.domain + variable[2:] if variable.startswith("--") else variable

    def standard_variables(self) -> tuple[VariableMeta, ...]:
        """The SDTMIG's variables for the dataset's domain (SUPP-- included); empty for
        domains the shipped SDTMIG tables do not describe."""
        meta = standard_domains().get(self.domain)
        return meta.variables if meta is not None else self.dataset.meta.variables

    def defined(self) -> DefinedDataset | None:
        """define.xml's description of this dataset, if there is a define.xml that has one."""
        return (self.define or {}).get(self.dataset.name)

    def column(self, variable: str) -> pd.Series | None:
        name = self.name(variable)
        return self.frame.get(name)

    def by_subject(self, variable: str) -> pd.Series | None:
        """DM's `variable` by USUBJID, for looking subjects up. A subject DM repeats takes
        its first record (the repeat is TB0004's finding; the lookups go on); None when there
        is no DM with USUBJID and the variable."""
        dm = self.datasets.get("DM")
        if dm is None or "USUBJID" not in dm.frame or variable not in dm.frame:
            return None
        first = dm.frame.drop_duplicates("USUBJID")
        first = first[first["USUBJID"].notna()]
        return pd.Series(first[variable].to_numpy(), index=first["USUBJID"].to_numpy())


@dataclass(frozen=True, slots=True)
class Issue:
    """What an operation found: a record (row, 0-based) or the dataset (row None), the
    variable and the value concerned."""

    row: int | None
    variable: str
    value: object


def rows(mask: pd.Series, variable: str, values: pd.Series | None = None) -> list[Issue]:
    """An issue for each True in the mask (NA counts as False), with the record's value."""
    flagged = np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool)).tolist()
    if values is None:
        return list(map(Issue, flagged, repeat(variable), repeat(None)))
    # only the flagged become objects; built by map, as a rule can flag a million records
    picked = values.iloc[flagged]
    if isinstance(picked.dtype, pd.StringDtype) or pd.api.types.is_float_dtype(picked.dtype):
        shown = picked.to_numpy(dtype=object, na_value=None).tolist()  # missing: None
    else:
        shown = [_plain(v) for v in picked.to_numpy(dtype=object)]
    return list(map(Issue, flagged, repeat(variable), shown))


def _plain(value: object) -> object:
    missing = value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
    return None if missing else value
