"""VISITNUM from the planned visits; unscheduled visits numbered once for the whole study."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from trialbridge.sdtm.derivations.dates import date_variable
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.sdtm.lookup import lookup, per_distinct
from trialbridge.study import Visit


def derive(
    domain: DomainFrame, visits: list[Visit], unscheduled_visit: str
) -> dict[str, pd.Series]:
    """Planned VISIT -> VISITNUM; unscheduled records wait for `number_unscheduled`."""
    frame = domain.frame
    if "VISIT" not in frame or not domain.meta.variable("VISITNUM") or "VISITNUM" in frame:
        return {}
    planned = {v.visit: v.visitnum for v in visits}
    unscheduled = frame["VISIT"] == unscheduled_visit
    unknown = frame["VISIT"].notna() & ~frame["VISIT"].isin(list(planned)) & ~unscheduled
    if unknown.any():
        fail_at(
            frame,
            unknown,
            "visit '{value}' is not a planned visit in study.yaml",
            "VISIT",
            f"recode it to a planned VISIT or to '{unscheduled_visit}'",
        )
    return {"VISITNUM": lookup(frame["VISIT"], planned).astype("float64")}


@dataclass(frozen=True)
class _Pairs:
    """Unscheduled records as (subject, date) pairs: each distinct pair once (texts and study
    day, sorted), and which pair each record has."""

    subject: np.ndarray  # per distinct pair
    date: np.ndarray
    day: np.ndarray
    inverse: np.ndarray  # per record: its pair


_FIELDS = ("subject", "date", "day")


def number_unscheduled(
    domains: list[DomainFrame], visits: list[Visit], unscheduled_visit: str
) -> dict[str, dict[str, pd.Series]]:
    """An unscheduled visit is a subject's date with unscheduled records in any domain. It gets
    the number of the last planned visit whose planned day is on or before its study day, plus
    .01, .02, ... in date order, and the same number in every domain. Returns each domain's
    VISITNUM and VISIT with the unscheduled records numbered."""
    found = {
        domain.code: _pairs(*records)
        for domain in domains
        if (records := _unscheduled(domain, unscheduled_visit)) is not None
    }
    if not found:
        return {}
    union = _pairs(*(np.concatenate([getattr(p, f) for p in found.values()]) for f in _FIELDS))
    timed = sorted((v.day, v.visitnum) for v in visits if v.day is not None)
    days = np.array([d for d, _ in timed], dtype="float64")
    nums = np.array([n for _, n in timed], dtype="float64")
    position = np.searchsorted(days, union.day, side="right") - 1
    if not len(nums):  # no planned visit has a day: every unscheduled visit numbers from 0
        position[:] = -1
        nums = np.zeros(1)
    base = np.where(position >= 0, nums[position.clip(0)], 0.0)
    numbers = (base + _rank_within(union.subject, base) / 100).round(2)
    every = pd.MultiIndex.from_arrays([union.subject, union.date])
    numbered = {}
    for domain in domains:
        pairs = found.get(domain.code)
        if pairs is not None:  # each of its pairs is in the union: no miss possible
            at = every.get_indexer(pd.MultiIndex.from_arrays([pairs.subject, pairs.date]))
            numbered[domain.code] = _apply(domain, unscheduled_visit, numbers[at][pairs.inverse])
    return numbered


def _rank_within(subject: np.ndarray, base: np.ndarray) -> np.ndarray:
    """1, 2, ... along runs of equal (subject, base) in sorted order."""
    starts = np.ones(len(subject), dtype=bool)
    starts[1:] = (subject[1:] != subject[:-1]) | (base[1:] != base[:-1])
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(subject)), 0))
    return np.arange(len(subject)) - run_start + 1


def _pairs(subjects: ArrayLike, dates: ArrayLike, days: ArrayLike) -> _Pairs:
    """The distinct (subject, date) pairs, sorted by subject then date, with their study days:
    both texts are ranked once, so the pairs are found and sorted as integers."""
    subject_rank, subject_text = pd.factorize(subjects, sort=True)
    date_rank, date_text = pd.factorize(dates, sort=True)
    key = subject_rank.astype(np.int64) * (len(date_text) + 1) + date_rank
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return _Pairs(
        subject=np.asarray(subject_text, dtype=object)[subject_rank[first]],
        date=np.asarray(date_text, dtype=object)[date_rank[first]],
        day=np.asarray(days, dtype="float64")[first],
        inverse=inverse.reshape(-1),
    )


def _unscheduled(
    domain: DomainFrame, unscheduled_visit: str
) -> tuple[pd.Series, pd.Series, pd.Series] | None:
    """(USUBJID, date, study day) of a domain's unscheduled records, none if it has none; an
    error if one has no date."""
    frame = domain.frame
    mask = _unscheduled_mask(frame, unscheduled_visit)
    if mask is None:
        return None
    date_var = date_variable(domain.code, frame)
    day_var = None if date_var is None else date_var.replace("DTC", "DY")
    if date_var is None or day_var not in frame:
        fail_at(frame, mask, "unscheduled visit without a date", "VISIT", "map the record's date")
        return None
    no_day = mask & frame[day_var].isna()
    if no_day.any():
        fail_at(
            frame,
            no_day,
            "unscheduled visit on '{value}' has no study day (a partial date, or no RFSTDTC "
            "for the subject)",
            date_var,
            "give a complete date; subjects need a first dose date (RFSTDTC)",
            "",
        )
    return (
        frame.loc[mask, "USUBJID"],
        frame.loc[mask, date_var].str.slice(0, 10),
        frame.loc[mask, day_var],
    )


def _unscheduled_mask(frame: pd.DataFrame, unscheduled_visit: str) -> pd.Series | None:
    if "VISIT" not in frame or "VISITNUM" not in frame:
        return None
    mask = (frame["VISIT"] == unscheduled_visit).fillna(False).astype(bool)
    return mask if mask.any() else None


def _apply(domain: DomainFrame, unscheduled_visit: str, number: np.ndarray) -> dict[str, pd.Series]:
    """VISITNUM and VISIT with the numbers (one per unscheduled record, in record order)."""
    frame = domain.frame
    mask = _unscheduled_mask(frame, unscheduled_visit)
    assert mask is not None
    number = pd.Series(number, index=frame.index[mask])
    visitnum, visit = frame["VISITNUM"].copy(), frame["VISIT"].copy()
    visitnum[mask] = number
    visit[mask] = unscheduled_visit + " " + per_distinct(number, "{:.2f}".format)
    return {"VISITNUM": visitnum, "VISIT": visit}


def from_design(frame: pd.DataFrame, sv: pd.DataFrame | None, tv: pd.DataFrame | None) -> pd.Series:
    """VISITNUM as a sponsor's own design datasets give it: the subject's visit of that name in
    SV (unscheduled visits are only there), else the planned visit of that name in TV."""
    number = pd.Series(np.nan, index=frame.index, dtype="float64")
    if sv is not None and {"USUBJID", "VISIT", "VISITNUM"} <= set(sv):
        table = sv.dropna(subset=["USUBJID", "VISIT"]).drop_duplicates(["USUBJID", "VISIT"])
        keys = pd.MultiIndex.from_frame(table[["USUBJID", "VISIT"]])
        at = keys.get_indexer(pd.MultiIndex.from_frame(frame[["USUBJID", "VISIT"]]))
        found = table["VISITNUM"].to_numpy("float64")
        number = number.mask(at >= 0, np.where(at >= 0, found[at.clip(0)], np.nan))
    if tv is not None and {"VISIT", "VISITNUM"} <= set(tv):
        planned = tv.dropna(subset=["VISIT"]).drop_duplicates("VISIT").set_index("VISIT")
        number = number.fillna(lookup(frame["VISIT"], planned["VISITNUM"]).astype("float64"))
    return number
