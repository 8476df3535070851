"""A domain dataset: the frame in metadata order, its variable metadata, and row lineage."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.sdtm.lineage import LINEAGE
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta


@dataclass(frozen=True)
class Column:
    """One variable as files describe it: XPT, Dataset-JSON and Define-XML agree on this."""

    name: str
    label: str
    type: str  # "Char" or "Num"
    length: int
    data_type: str  # Dataset-JSON / Define: "string", "integer" or "double"
    key_sequence: int | None = None


@dataclass(frozen=True)
class SourceFile:
    """The file a dataset was read from, as it stands on disk, for checks on the file itself
    (its name, size, and each variable's stored type and length)."""

    name: str
    size: int
    columns: tuple[Column, ...]
    repeated: tuple[Column, ...] = ()  # variables under a name an earlier one has: not read


@dataclass
class Table:
    """A dataset as it stands in a file: any source, with or without SDTMIG metadata."""

    name: str
    label: str
    frame: pd.DataFrame
    columns: list[Column]
    repeated: tuple[Column, ...] = ()  # in the file under a name an earlier column has


def char_length(values: pd.Series) -> int:
    """The longest value in bytes, at least 1 (XPT cannot hold a zero-length variable)."""
    text = pa.array(values.astype("str").where(values.notna()), pa.large_string(), from_pandas=True)
    longest = pc.max(pc.binary_length(text)).as_py()
    return max(longest or 0, 1)


def numeric_type(values: pd.Series) -> str:
    """'integer' when every value is a whole number that a double holds exactly."""
    present = values.dropna().to_numpy(dtype="float64")
    whole = (present == present.round()).all() and (abs(present) < 2.0**53).all()
    return "integer" if whole else "double"


@dataclass
class Dataset:
    """What every writer and validator works from. `lineage` is aligned with `frame` rows."""

    name: str
    label: str
    meta: DomainMeta
    variables: list[VariableMeta]
    frame: pd.DataFrame
    lineage: pd.DataFrame
    source: SourceFile | None = None

    @property
    def filename_stem(self) -> str:
        return self.name.lower()

    @property
    def subjects(self) -> int:
        return int(self.frame["USUBJID"].nunique()) if "USUBJID" in self.frame else 0

    def table(self) -> Table:
        """The dataset's file-level description, keys numbered as in the SDTMIG."""
        present = [v.name for v in self.variables]
        keys = [k for k in self.meta.keys if k in present]
        columns = []
        for var in self.variables:
            values = self.frame[var.name]
            char = var.type == "Char"
            columns.append(
                Column(
                    name=var.name,
                    label=var.label,
                    type=var.type,
                    length=char_length(values) if char else 8,
                    data_type="string" if char else numeric_type(values),
                    key_sequence=keys.index(var.name) + 1 if var.name in keys else None,
                )
            )
        return Table(name=self.name, label=self.label, frame=self.frame, columns=columns)


def finalize(name: str, meta: DomainMeta, frame: pd.DataFrame) -> Dataset:
    """Keep Req and Exp variables always (empty if not collected), Perm ones when populated,
    and a study day beside its date even when no record has one (a subject without RFSTDTC):
    FDA asks for --DY beside --DTC; order by the metadata; Num as float64, Char as text with
    NA for missing."""
    kept: list[VariableMeta] = []
    columns: dict[str, pd.Series] = {}
    for var in meta.variables:
        present = var.name in frame and frame[var.name].notna().any()
        if not present and var.core == "Perm" and not _day_of_a_date(var.name, meta, frame):
            continue
        values = frame[var.name] if var.name in frame else pd.Series(pd.NA, index=frame.index)
        columns[var.name] = _typed(values, var)
        kept.append(var)
    data = pd.DataFrame(columns, index=frame.index).reset_index(drop=True)
    lineage = (
        frame[list(LINEAGE)].reset_index(drop=True)
        if set(LINEAGE) <= set(frame)
        else (pd.DataFrame(index=data.index, columns=list(LINEAGE)))
    )
    return Dataset(
        name=name, label=meta.label, meta=meta, variables=kept, frame=data, lineage=lineage
    )


DAYS = {"DY": "DTC", "STDY": "STDTC", "ENDY": "ENDTC"}  # study day -> its date's suffix


def _day_of_a_date(name: str, meta: DomainMeta, frame: pd.DataFrame) -> bool:
    """`name` is the study day (--DY, --STDY, --ENDY) of a date the records give."""
    prefix, suffix = name[: len(meta.domain)], name[len(meta.domain) :]
    date = prefix + DAYS[suffix] if prefix == meta.domain and suffix in DAYS else None
    return date is not None and date in frame and bool(frame[date].notna().any())


def _typed(values: pd.Series, var: VariableMeta) -> pd.Series:
    if var.type == "Num":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    return values.astype("str").where(values.notna())
