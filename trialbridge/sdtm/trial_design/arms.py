"""TA (planned elements per arm), TE (elements) and TV (planned visits) from study.yaml."""

from __future__ import annotations

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.trial_design.frames import dataset
from trialbridge.study import Study, Visit


def trial_arms(study: Study) -> Dataset:
    elements = {e.etcd: e for e in study.elements}
    rows = [
        {
            "ARMCD": arm.armcd,
            "ARM": arm.arm,
            "TAETORD": float(order),
            "ETCD": etcd,
            "ELEMENT": elements[etcd].element,
            "EPOCH": elements[etcd].epoch,
        }
        for arm in study.arms
        for order, etcd in enumerate(arm.elements, start=1)
    ]
    return dataset("TA", rows, study.studyid)


def trial_elements(study: Study) -> Dataset:
    rows = [
        {
            "ETCD": e.etcd,
            "ELEMENT": e.element,
            "TESTRL": e.start_rule,
            "TEENRL": e.end_rule,
            "TEDUR": e.duration,
        }
        for e in study.elements
    ]
    return dataset("TE", rows, study.studyid)


def visit_start_rule(visit: Visit) -> str | None:
    """TVSTRL: the study's words, else the planned day and window."""
    if visit.start_rule:
        return visit.start_rule
    if visit.day is None:
        return None
    rule = f"Study day {visit.day}"
    if visit.window and visit.window[0] != visit.window[1]:
        rule += f" (window day {visit.window[0]} to day {visit.window[1]})"
    return rule


def trial_visits(study: Study) -> Dataset:
    """One record per planned visit; ARMCD stays empty: the visits apply to every arm."""
    rows = [
        {
            "VISITNUM": v.visitnum,
            "VISIT": v.visit,
            "VISITDY": float(v.day) if v.day is not None else None,
            "TVSTRL": visit_start_rule(v),
            "TVENRL": v.end_rule,
        }
        for v in study.visits
    ]
    return dataset("TV", rows, study.studyid)


def trial_criteria(study: Study) -> Dataset:
    rows = [
        {
            "IETESTCD": c.code,
            "IETEST": c.text,
            "IECAT": c.category,
            "IESCAT": c.subcategory,
            "TIRL": c.rule,
            "TIVERS": c.version,
        }
        for c in study.criteria
    ]
    return dataset("TI", rows, study.studyid)
