"""VISITNUM from the planned visits; unscheduled visits numbered after the visit they follow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.transforms import fail_at
from trialbridge.study import Study


def derive(domain: MappedDomain, study: Study) -> None:
    """Planned VISIT -> VISITNUM. An unscheduled record gets the number of the last planned
    visit whose planned day is on or before its study day, plus .01, .02, ... by date."""
    frame = domain.frame
    if "VISIT" not in frame or not domain.meta.variable("VISITNUM") or "VISITNUM" in frame:
        return
    planned = {v.visit: v.visitnum for v in study.visits}
    unscheduled = frame["VISIT"] == study.unscheduled_visit
    unknown = frame["VISIT"].notna() & ~frame["VISIT"].isin(list(planned)) & ~unscheduled
    if unknown.any():
        fail_at(
            frame,
            unknown,
            "visit '{value}' is not a planned visit in study.yaml",
            "VISIT",
            f"recode it to a planned VISIT or to '{study.unscheduled_visit}'",
        )
    frame["VISITNUM"] = frame["VISIT"].map(planned).astype("float64")
    if unscheduled.any():
        _number_unscheduled(domain, study, unscheduled.fillna(False).astype(bool))


def _number_unscheduled(domain: MappedDomain, study: Study, mask: pd.Series) -> None:
    frame = domain.frame
    prefix = domain.spec.domain
    day_var = next((prefix + s for s in ("DY", "STDY") if prefix + s in frame), None)
    date_var = next((prefix + s for s in ("DTC", "STDTC") if prefix + s in frame), None)
    if day_var is None or date_var is None:
        fail_at(frame, mask, "unscheduled visit without a date", "VISIT", "give its date")
    timed = sorted((v.day, v.visitnum) for v in study.visits if v.day is not None)
    days = np.array([d for d, _ in timed], dtype="float64")
    nums = np.array([n for _, n in timed], dtype="float64")
    sub = frame.loc[mask, ["USUBJID", date_var, day_var]].copy()
    if sub[day_var].isna().any():
        fail_at(
            frame,
            mask & frame[day_var].isna(),
            "unscheduled visit has no complete date",
            date_var,
            "give a complete date",
        )
    position = np.searchsorted(days, sub[day_var].to_numpy(), side="right") - 1
    sub["base"] = np.where(position >= 0, nums[position.clip(0)], 0.0)
    sub["date"] = sub[date_var].str.slice(0, 10)
    firsts = sub.drop_duplicates(["USUBJID", "base", "date"]).sort_values(
        ["USUBJID", "base", "date"]
    )
    firsts["rank"] = firsts.groupby(["USUBJID", "base"]).cumcount() + 1
    sub = sub.merge(
        firsts[["USUBJID", "base", "date", "rank"]], on=["USUBJID", "base", "date"], how="left"
    ).set_axis(sub.index)
    number = (sub["base"] + sub["rank"] / 100).round(2)
    frame.loc[mask, "VISITNUM"] = number
    frame.loc[mask, "VISIT"] = study.unscheduled_visit + " " + number.map("{:.2f}".format)
