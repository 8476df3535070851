"""VISITNUM from the planned visits; unscheduled visits numbered once for the whole study."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.converters.transforms import fail_at
from trialbridge.sdtm.derivations.dates import date_variable
from trialbridge.sdtm.lookup import lookup, lookup_pairs, per_distinct
from trialbridge.study import Study


def derive(domain: MappedDomain, study: Study) -> None:
    """Planned VISIT -> VISITNUM; unscheduled records wait for `number_unscheduled`."""
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
    frame["VISITNUM"] = lookup(frame["VISIT"], planned).astype("float64")


@dataclass(frozen=True)
class _Pairs:
    """A domain's unscheduled records as (subject, date) pair codes: each distinct pair once
    (texts and study day), and which pair each record has."""

    subject: np.ndarray  # per distinct pair
    date: np.ndarray
    day: np.ndarray
    inverse: np.ndarray  # per record: its pair


def number_unscheduled(domains: list[MappedDomain], study: Study) -> None:
    """An unscheduled visit is a subject's date with unscheduled records in any domain. It gets
    the number of the last planned visit whose planned day is on or before its study day, plus
    .01, .02, ... in date order, and the same number in every domain."""
    found = {
        domain.spec.domain: _pairs(*records)
        for domain in domains
        if (records := _unscheduled(domain, study)) is not None
    }
    if not found:
        return
    visits = pd.DataFrame(
        {
            "USUBJID": np.concatenate([p.subject for p in found.values()]),
            "DATE": np.concatenate([p.date for p in found.values()]),
            "DAY": np.concatenate([p.day for p in found.values()]),
        }
    )
    timed = sorted((v.day, v.visitnum) for v in study.visits if v.day is not None)
    days = np.array([d for d, _ in timed], dtype="float64")
    nums = np.array([n for _, n in timed], dtype="float64")
    subject, date, day = _distinct_days(visits)
    position = np.searchsorted(days, day, side="right") - 1
    base = np.where(position >= 0, nums[position.clip(0)], 0.0)
    numbers = (base + _rank_within(subject, base) / 100).round(2)
    table = (pd.Series(subject), pd.Series(date), numbers)
    for domain in domains:
        if domain.spec.domain in found:
            _apply(domain, study, found[domain.spec.domain], table)


def _distinct_days(visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each (subject, date) once, sorted by subject then date, with its study day: both texts
    ranked once, so the pairs are sorted as integers."""
    subject_rank, subjects = pd.factorize(visits["USUBJID"], sort=True)
    date_rank, dates = pd.factorize(visits["DATE"], sort=True)
    key = subject_rank.astype(np.int64) * (len(dates) + 1) + date_rank
    _, first = np.unique(key, return_index=True)  # sorted keys: subject, then date order
    subject = np.asarray(subjects, dtype=object)[subject_rank[first]]
    date = np.asarray(dates, dtype=object)[date_rank[first]]
    return subject, date, visits["DAY"].to_numpy(dtype="float64")[first]


def _rank_within(subject: np.ndarray, base: np.ndarray) -> np.ndarray:
    """1, 2, ... along runs of equal (subject, base) in sorted order."""
    starts = np.ones(len(subject), dtype=bool)
    starts[1:] = (subject[1:] != subject[:-1]) | (base[1:] != base[:-1])
    run_start = np.maximum.accumulate(np.where(starts, np.arange(len(subject)), 0))
    return np.arange(len(subject)) - run_start + 1


def _pairs(subjects: pd.Series, dates: pd.Series, days: pd.Series) -> _Pairs:
    """The distinct (subject, date) pairs of one domain, found from integer codes."""
    subject_code, subject_text = pd.factorize(subjects)
    date_code, date_text = pd.factorize(dates)
    key = subject_code.astype(np.int64) * (len(date_text) + 1) + date_code
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return _Pairs(
        subject=np.asarray(subject_text, dtype=object)[subject_code[first]],
        date=np.asarray(date_text, dtype=object)[date_code[first]],
        day=days.to_numpy(dtype="float64")[first],
        inverse=inverse.reshape(-1),
    )


def _unscheduled(
    domain: MappedDomain, study: Study
) -> tuple[pd.Series, pd.Series, pd.Series] | None:
    """(USUBJID, date, study day) of a domain's unscheduled records, none if it has none; an
    error if one has no date."""
    frame = domain.frame
    mask = _unscheduled_mask(frame, study)
    if mask is None:
        return None
    date_var = date_variable(domain.spec.domain, frame)
    day_var = None if date_var is None else date_var.replace("DTC", "DY")
    if date_var is None or day_var not in frame:
        fail_at(frame, mask, "unscheduled visit without a date", "VISIT", "map the record's date")
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


def _unscheduled_mask(frame: pd.DataFrame, study: Study) -> pd.Series | None:
    if "VISIT" not in frame or "VISITNUM" not in frame:
        return None
    mask = (frame["VISIT"] == study.unscheduled_visit).fillna(False).astype(bool)
    return mask if mask.any() else None


def _apply(
    domain: MappedDomain,
    study: Study,
    pairs: _Pairs,
    table: tuple[pd.Series, pd.Series, np.ndarray],
) -> None:
    """Each record gets its pair's number, looked up once per distinct pair."""
    frame = domain.frame
    mask = _unscheduled_mask(frame, study)
    assert mask is not None
    per_pair = lookup_pairs(pd.Series(pairs.subject), pd.Series(pairs.date), table)
    number = pd.Series(per_pair.to_numpy()[pairs.inverse], index=frame.index[mask])
    frame.loc[mask, "VISITNUM"] = number
    frame.loc[mask, "VISIT"] = study.unscheduled_visit + " " + per_distinct(number, "{:.2f}".format)
