"""EPOCH: the epoch of the planned element a record's date falls in, per subject's arm."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.derivations.dates import (
    date_part,
    date_variable,
    moments,
    on_or_after,
    per_subject,
    spread,
)
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lookup import lookup
from trialbridge.study import Study


def element_starts(dm: pd.DataFrame, study: Study, etcd: str) -> pd.Series:
    """Each subject's start of element `etcd`: a DM reference date plus the element's offset."""
    element = next(e for e in study.elements if e.etcd == etcd)
    start = dm.get(element.start, pd.Series(pd.NA, index=dm.index, dtype="str"))
    if element.offset_days:
        shifted = date_part(start) + pd.Timedelta(days=element.offset_days)
        start = shifted.dt.strftime("%Y-%m-%d").where(shifted.notna())
    return pd.Series(start.to_numpy(), index=dm["USUBJID"].to_numpy())


def derive(domain: DomainFrame, dm: pd.DataFrame, study: Study) -> dict[str, pd.Series]:
    """EPOCH where the domain has it, the records lack it and the study plans arms."""
    frame = domain.frame
    if not domain.meta.variable("EPOCH") or "EPOCH" in frame or not study.arms:
        return {}
    date_var = date_variable(domain.code, frame)
    epochs = pd.Series(pd.NA, index=frame.index, dtype="str")
    if date_var is None:
        return {"EPOCH": epochs}
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
            epochs[entered] = epoch
    return {"EPOCH": epochs}


def from_elements(domain: DomainFrame, se: pd.DataFrame) -> dict[str, pd.Series]:
    """EPOCH from a sponsor's SE: the epoch of the subject's latest element that started on or
    before the record's date (elements taken in start order)."""
    frame = domain.frame
    date_var = date_variable(domain.code, frame)
    epochs = pd.Series(pd.NA, index=frame.index, dtype="str")
    if date_var is None or not {"USUBJID", "SESTDTC", "EPOCH"} <= set(se):
        return {"EPOCH": epochs}
    elements = se.dropna(subset=["USUBJID", "SESTDTC"]).assign(
        __day=lambda s: date_part(s["SESTDTC"])
    )
    elements = elements.sort_values(["USUBJID", "__day", "SESTDTC"], kind="stable")
    elements["__nth"] = elements.groupby("USUBJID").cumcount()
    when = moments(frame[date_var])
    for _, nth in elements.groupby("__nth", sort=True):
        by_subject = nth.set_index("USUBJID")
        start = lookup(frame["USUBJID"], by_subject["SESTDTC"])
        entered = start.notna() & on_or_after(when, start)
        epochs[entered] = lookup(frame["USUBJID"], by_subject["EPOCH"])[entered]
    return {"EPOCH": epochs}
