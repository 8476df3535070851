"""SV: one record per visit a subject actually had, from every dataset that carries VISITNUM."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.derivations.dates import COMPLETE_DATE, date_variable
from trialbridge.sdtm.derivations.study_day import study_day
from trialbridge.sdtm.lookup import lookup
from trialbridge.sdtm.trial_design.frames import dataset
from trialbridge.study import Study


def _visit_dates(datasets: dict[str, Dataset]) -> pd.DataFrame:
    """(USUBJID, VISITNUM, VISIT, DATE, DOMAIN) for every record with a visit and a date."""
    pieces = []
    for name, data in datasets.items():
        frame = data.frame
        date_var = date_variable(name, frame)
        if "VISITNUM" not in frame or date_var is None:
            continue
        pieces.append(
            pd.DataFrame(
                {
                    "USUBJID": frame["USUBJID"],
                    "VISITNUM": frame["VISITNUM"],
                    "VISIT": frame.get("VISIT"),
                    "DATE": frame[date_var],
                    "DOMAIN": name,
                }
            )
        )
    if not pieces:
        return pd.DataFrame(columns=["USUBJID", "VISITNUM", "VISIT", "DATE", "DOMAIN"])
    stacked = pd.concat(pieces, ignore_index=True).dropna(subset=["VISITNUM"])
    complete = stacked["DATE"].str.match(COMPLETE_DATE).fillna(False).astype(bool)
    return stacked.loc[complete]


def _domains(dates: pd.DataFrame) -> pd.DataFrame:
    """The datasets each visit was seen in, as "LB, VS": each dataset a bit, the bits of a
    visit summed, and each distinct sum written once."""
    keys = ["USUBJID", "VISITNUM"]
    seen = dates[[*keys, "DOMAIN"]].drop_duplicates()
    names = sorted(seen["DOMAIN"].unique())
    bit = lookup(seen["DOMAIN"], {name: 1 << i for i, name in enumerate(names)}).astype("int64")
    masks = bit.groupby([seen["USUBJID"], seen["VISITNUM"]]).sum()
    text = {m: ", ".join(n for i, n in enumerate(names) if m >> i & 1) for m in masks.unique()}
    return masks.map(text).rename("DOMAINS").reset_index()


def _first_and_last(dates: pd.DataFrame) -> pd.DataFrame:
    """Per subject and visit (in their order): the VISIT of its earliest record and the first
    and last dates. Subjects, visits and dates are ranked once (few distinct values), and the
    records sorted by those ranks as integers (stable: the earliest record wins a tie), so no
    text is sorted or grouped row by row."""
    rank, ordered = pd.factorize(dates["DATE"], sort=True)
    subject, subjects = pd.factorize(dates["USUBJID"], sort=True)
    visit, visitnums = pd.factorize(dates["VISITNUM"], sort=True)
    order = np.lexsort((rank, visit, subject))
    order = order[subject[order] >= 0]  # as groupby, a record without a subject is left out
    by_subject, by_visit = subject[order], visit[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (by_subject[1:] != by_subject[:-1]) | (by_visit[1:] != by_visit[:-1])
    ends = np.ones(len(order), dtype=bool)
    ends[:-1] = starts[1:]
    first = order[starts]
    return pd.DataFrame(
        {
            "USUBJID": subjects.take(subject[first]),
            "VISITNUM": visitnums.take(visit[first]),
            "VISIT": dates["VISIT"].iloc[first].to_numpy(),
            "SVSTDTC": ordered.take(rank[first]),
            "SVENDTC": ordered.take(rank[order[ends]]),
        }
    )


def build(study: Study, dm: Dataset, datasets: dict[str, Dataset]) -> Dataset:
    """SVSTDTC / SVENDTC are the first and last dates seen for the visit (complete dates only,
    ISO text sorts in time order). Planned visits are SVPRESP=Y and SVOCCUR=Y."""
    dates = _visit_dates(datasets)
    if dates.empty:  # no dataset has a visit with a date: no SV records
        return dataset("SV", pd.DataFrame(columns=["USUBJID"]), study.studyid)
    sv = _first_and_last(dates)
    sv = sv.merge(_domains(dates), on=["USUBJID", "VISITNUM"], how="left")
    planned = {v.visitnum: v for v in study.visits}
    is_planned = sv["VISITNUM"].isin(list(planned))
    sv["VISITDY"] = lookup(sv["VISITNUM"], {n: v.day for n, v in planned.items()}).astype("float64")
    sv["SVPRESP"] = pd.Series("Y", index=sv.index).where(is_planned)
    sv["SVOCCUR"] = sv["SVPRESP"]
    sv["SVUPDES"] = ("Unscheduled: " + sv["DOMAINS"]).where(~is_planned)
    reference = lookup(sv["USUBJID"], dm.frame.set_index("USUBJID")["RFSTDTC"])
    sv["SVSTDY"] = study_day(sv["SVSTDTC"], reference)
    sv["SVENDY"] = study_day(sv["SVENDTC"], reference)
    sv = sv.drop(columns="DOMAINS").sort_values(["USUBJID", "VISITNUM"], ignore_index=True)
    return dataset("SV", sv, study.studyid)
