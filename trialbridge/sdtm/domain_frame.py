"""A domain being completed, whatever it came from: its records with their lineage, its
SDTMIG metadata, and what the study says about deriving it.

The mapping engine makes these from native records; `trialbridge derive` makes them from a
sponsor's datasets. Derivations read them and return columns, so they run on either."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator

from trialbridge.sdtm.metadata import DomainMeta
from trialbridge.study import Strict


class SuppVariable(Strict):
    """A non-standard variable, written to SUPP--."""

    label: str = Field(max_length=40)
    origin: Literal["Collected", "Derived", "Assigned", "Protocol"] = "Collected"
    evaluator: str | None = None


class Baseline(Strict):
    """Flag the last non-missing result on or before a DM reference date, per group."""

    by: list[str]
    at: str = "RFXSTDTC"
    flags: list[str] = Field(default_factory=lambda: ["LOBXFL"])


class Relationship(Strict):
    """RELREC: link each record of this domain to the records of `with_` whose variable equals
    this record's key (e.g. a medication's 'AE number' to AESPID)."""

    with_: str = Field(alias="with", pattern=r"^[A-Z]{2}$")
    by: dict[str, str] = Field(min_length=1, description="this domain's variable -> theirs")


class DomainSettings(Strict):
    """Domain-level choices the derivations and Define-XML follow (a mapping spec has them
    beside its source blocks)."""

    supplemental: dict[str, SuppVariable] = Field(default_factory=dict)
    standard_units: dict[str, str] = Field(default_factory=dict)
    baseline: Baseline | None = None
    relationships: list[Relationship] = Field(default_factory=list)
    comment: str | None = Field(default=None, description="dataset comment for Define-XML")
    relative_timing: bool = Field(
        default=False, description="derive --STRF / --ENRF against DM's reference period"
    )
    derive_ex: bool = Field(default=False, description="EC only: EX from the doses given")

    @field_validator("supplemental")
    @classmethod
    def _supp_names(cls, supplemental: dict[str, SuppVariable]) -> dict[str, SuppVariable]:
        for qnam in supplemental:
            if not (len(qnam) <= 8 and qnam[:1].isalpha() and qnam.isalnum() and qnam.isupper()):
                raise ValueError(f"QNAM '{qnam}' must be 1-8 upper-case letters or digits")
        return supplemental


@dataclass
class Provenance:
    """Where a variable comes from: Collected (it reads source columns, named here as
    'file: column') or Assigned (constants only)."""

    origin: str
    sources: set[str] = field(default_factory=set)
    # the spec lines that set it: (source file, melt column or '', 'spec:line'), so that a
    # record's own line is found by the file and column its lineage names
    spec: set[tuple[str, str, str]] = field(default_factory=set)

    def merge(self, other: Provenance) -> Provenance:
        origin = "Collected" if "Collected" in (self.origin, other.origin) else self.origin
        return Provenance(origin, self.sources | other.sources, self.spec | other.spec)


@dataclass
class DomainFrame:
    """A domain's records (SDTM variables plus lineage columns), its metadata, its settings,
    and the file its errors name (the mapping spec, or the dataset file read)."""

    code: str
    meta: DomainMeta
    frame: pd.DataFrame
    where: str
    settings: DomainSettings = field(default_factory=DomainSettings)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what a derivation left out, counted

    def update(self, columns: dict[str, pd.Series]) -> None:
        """Take the columns a derivation returned (new ones, or replacements)."""
        for name, values in columns.items():
            self.frame[name] = values
