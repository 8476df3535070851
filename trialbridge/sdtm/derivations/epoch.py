"""EPOCH: the epoch of the planned element a record's date falls in, per subject's arm."""

from __future__ import annotations

import pandas as pd

from trialbridge.converters.engine import MappedDomain
from trialbridge.sdtm.derivations.dates import (
    date_part,
    date_variable,
    moments,
    on_or_after,
    per_subject,
    spread,
)
from trialbridge.study import Study


def element_starts(dm: pd.DataFrame, study: Study, etcd: str) -> pd.Series:
    """Each subject's start of element `etcd`: a DM reference date plus the element's offset."""
    element = next(e for e in study.elements if e.etcd == etcd)
    start = dm.get(element.start, pd.Series(pd.NA, index=dm.index, dtype="str"))
    if element.offset_days:
        shifted = date_part(start) + pd.Timedelta(days=element.offset_days)
        start = shifted.dt.strftime("%Y-%m-%d").where(shifted.notna())
    return pd.Series(start.to_numpy(), index=dm["USUBJID"].to_numpy())


def derive(domain: MappedDomain, dm: pd.DataFrame, study: Study) -> None:
    frame = domain.frame
    prefix = domain.spec.domain
    if not domain.meta.variable("EPOCH") or "EPOCH" in frame or not study.arms:
        return
    date_var = date_variable(prefix, frame)
    frame["EPOCH"] = pd.Series(pd.NA, index=frame.index, dtype="str")
    if date_var is None:
        return
    arm = per_subject(frame, dm, "ACTARMCD").fillna(per_subject(frame, dm, "ARMCD"))
    when = moments(frame[date_var])  # compared with every element's start
    subject, subjects = pd.factorize(frame["USUBJID"], use_na_sentinel=True)
    for planned in study.arms:
        in_arm = (arm == planned.armcd).fillna(False).to_numpy(bool)
        for etcd in planned.elements:
            epoch = next(e.epoch for e in study.elements if e.etcd == etcd)
            starts = element_starts(dm, study, etcd).reindex(subjects)
            # the starts are parsed per subject, then spread to the records
            start = moments(pd.Series(starts.to_numpy(), dtype="str"))
            start = spread(start, subject, frame.index)
            entered = in_arm & start[0].notna().to_numpy() & on_or_after(when, start).to_numpy()
            frame.loc[entered, "EPOCH"] = epoch
