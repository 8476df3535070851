"""VISITNUM from the planned visits; unscheduled visits numbered once for the whole study."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from pandas.api.extensions import take

from trialbridge.sdtm.derivations.dates import date_variable
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.sdtm.lookup import lookup
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
    subject, date, day = (np.concatenate([getattr(p, f) for p in found.values()]) for f in _FIELDS)
    union = _pairs(_ranked(subject), _ranked(date), day)
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


Ranked = tuple[np.ndarray, np.ndarray]  # (each value's rank, the distinct values sorted)


def _ranked(values: ArrayLike) -> Ranked:
    rank, text = pd.factorize(values, sort=True)
    return rank, np.asarray(text, dtype=object)


def _pairs(subjects: Ranked, dates: Ranked, days: ArrayLike) -> _Pairs:
    """The distinct (subject, date) pairs, sorted by subject then date, with their study days:
    both texts are ranked once, so the pairs are found and sorted as integers."""
    (subject_rank, subject_text), (date_rank, date_text) = subjects, dates
    key = subject_rank.astype(np.int64) * (len(date_text) + 1) + date_rank
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return _Pairs(
        subject=subject_text[subject_rank[first]],
        date=date_text[date_rank[first]],
        day=np.asarray(days, dtype="float64")[first],
        inverse=inverse.reshape(-1),
    )


def _unscheduled(
    domain: DomainFrame, unscheduled_visit: str
) -> tuple[Ranked, Ranked, ArrayLike] | None:
    """(USUBJID, date, study day) of a domain's unscheduled records, none if it has none; an
    error if one has no date. The texts are ranked over the whole columns and the ranks of the
    unscheduled records kept: no text column is copied for them."""
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
    at = mask.to_numpy()
    subject_rank, subject_text = _ranked(frame["USUBJID"])
    date_rank, date_text = _ranked(frame[date_var].str.slice(0, 10))
    return (
        (subject_rank[at], subject_text),
        (date_rank[at], date_text),
        np.asarray(frame[day_var], dtype="float64")[at],
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
    at = mask.to_numpy()
    visitnum = frame["VISITNUM"]
    if visitnum.dtype == "float64":  # as derived: set in a numpy copy, not through pandas
        values = visitnum.to_numpy(copy=True)
        values[at] = number
        visitnum = pd.Series(values, index=frame.index, name="VISITNUM")
    else:
        visitnum = visitnum.copy()
        visitnum[mask] = pd.Series(number, index=frame.index[mask])
    return {"VISITNUM": visitnum, "VISIT": _labelled(frame["VISIT"], at, number, unscheduled_visit)}


def _labelled(
    visit: pd.Series, at: np.ndarray, number: np.ndarray, unscheduled_visit: str
) -> pd.Series:
    """VISIT with the records at `at` named '<unscheduled_visit> <number>': both the old names
    and the new ones are distinct values, so the texts are made once each and taken by code
    (setting Arrow text through a mask copied every row)."""
    old_code, old = pd.factorize(visit, use_na_sentinel=True)
    new_code, new = pd.factorize(number, use_na_sentinel=True)
    names = [*old, *(f"{unscheduled_visit} {n:.2f}" for n in new)]
    code = old_code.copy()
    code[at] = np.where(new_code >= 0, new_code + len(old), -1)
    table = pd.array(names, dtype=visit.dtype)
    return pd.Series(take(table, code, allow_fill=True), index=visit.index, name=visit.name)


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
