"""RELREC from the relationships that specs declare, record to record by --SEQ."""

from __future__ import annotations

import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.sdtm.trial_design.frames import dataset


def build(mapped: dict[str, DomainFrame], study_id: str) -> Dataset | None:
    """Two RELREC records (one per side) for every linked pair; RELID numbers the pairs
    within each subject. A key that finds no record on the other side is an error."""
    pairs = [
        _pairs(domain, mapped, rel.with_, rel.by)
        for domain in mapped.values()
        for rel in domain.settings.relationships
    ]
    if not pairs:
        return None
    linked = pd.concat(pairs, ignore_index=True).sort_values(
        ["USUBJID", "LEFT_DOMAIN", "LEFT_SEQ", "RIGHT_DOMAIN", "RIGHT_SEQ"], ignore_index=True
    )
    linked["RELID"] = (linked.groupby("USUBJID").cumcount() + 1).map(str)
    rows = []
    for side in ("LEFT", "RIGHT"):
        rows.append(
            pd.DataFrame(
                {
                    "RDOMAIN": linked[f"{side}_DOMAIN"],
                    "USUBJID": linked["USUBJID"],
                    "IDVAR": linked[f"{side}_DOMAIN"] + "SEQ",
                    "IDVARVAL": linked[f"{side}_SEQ"].map("{:.0f}".format),
                    "RELID": linked["RELID"],
                    "__order": linked.index * 2 + (side == "RIGHT"),
                }
            )
        )
    records = pd.concat(rows).sort_values("__order").drop(columns="__order")
    return dataset("RELREC", records.to_dict("records"), study_id)


def _pairs(
    domain: DomainFrame, mapped: dict[str, DomainFrame], other: str, by: dict[str, str]
) -> pd.DataFrame:
    code = domain.code
    if other not in mapped:
        raise UserError(
            f"{code} declares a relationship with {other}, which no spec maps", domain.where
        )
    left, right = domain.frame, mapped[other].frame
    for mine, theirs in by.items():
        if mine not in left or theirs not in right:
            missing = mine if mine not in left else f"{other}.{theirs}"
            raise UserError(f"relationship key {missing} is not mapped", domain.where)
    keyed = left.dropna(subset=list(by))
    matches = keyed.reset_index().merge(
        right[["USUBJID", f"{other}SEQ", *by.values()]],
        how="left",
        left_on=["USUBJID", *by],
        right_on=["USUBJID", *by.values()],
    )
    missing = matches[f"{other}SEQ"].isna()
    if missing.any():
        keys = ", ".join(
            f"{theirs}={matches.loc[missing, mine].iloc[0]}" for mine, theirs in by.items()
        )
        key = next(iter(by))
        fail_at(
            matches.set_index("index"),
            missing.to_numpy(),
            f"RELREC: this {code} record points to {other} with {keys}, which does not exist",
            key,
            f"fix the key or the {other} data",
            _source_column(domain, key),
        )
    return pd.DataFrame(
        {
            "USUBJID": matches["USUBJID"],
            "LEFT_DOMAIN": code,
            "LEFT_SEQ": matches[f"{code}SEQ"],
            "RIGHT_DOMAIN": other,
            "RIGHT_SEQ": matches[f"{other}SEQ"],
        }
    )


def _source_column(domain: DomainFrame, variable: str) -> str:
    """The source column a link key was mapped from, for the error message."""
    found = domain.provenance.get(variable)
    if found is not None and len(found.sources) == 1:
        return next(iter(found.sources)).split(": ", 1)[-1]
    return variable
