"""VISITNUM from planned visits; unscheduled visits numbered after the visit they follow."""

import pytest

from tests.helpers import mapped, plmsc_study
from trialbridge.errors import UserError
from trialbridge.sdtm.derivations import visits
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.study import Study, Visit

# planned days in the bundled study: SCREENING -9, DAY 1 1, MONTH 1 29, MONTH 3 91, MONTH 6 181


def test_planned_and_unscheduled_visit_numbers():
    lb = mapped(
        "LB",
        [
            {"USUBJID": "S1", "VISIT": "MONTH 1", "LBDTC": "2021-07-19", "LBDY": 29},
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-08-12", "LBDY": 53},
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-08-12", "LBDY": 53},
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-08-20", "LBDY": 61},
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-06-05", "LBDY": -16},
            {"USUBJID": "S2", "VISIT": "UNSCHEDULED", "LBDTC": "2021-06-22", "LBDY": 2},
        ],
    )
    lb.update(visits.derive(lb, *_planned(plmsc_study())))
    _number([lb], plmsc_study())
    assert lb.frame["VISITNUM"].tolist() == [3.0, 3.01, 3.01, 3.02, 0.01, 2.01]
    assert lb.frame["VISIT"].tolist() == [
        "MONTH 1",
        "UNSCHEDULED 3.01",
        "UNSCHEDULED 3.01",
        "UNSCHEDULED 3.02",
        "UNSCHEDULED 0.01",
        "UNSCHEDULED 2.01",
    ]


def test_unknown_visit_is_an_error():
    lb = mapped("LB", [{"USUBJID": "S1", "VISIT": "WEEK 2", "LBDTC": "2021-07-01", "LBDY": 11}])
    with pytest.raises(UserError, match=r"visit 'WEEK 2' is not a planned visit in study\.yaml"):
        lb.update(visits.derive(lb, *_planned(plmsc_study())))


def test_one_unscheduled_visit_has_one_number_in_every_domain():
    study = plmsc_study()
    lb = mapped(
        "LB", [{"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-08-12T09:10", "LBDY": 53}]
    )
    vs = mapped(
        "VS",
        [
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "VSDTC": "2021-08-05T09:00", "VSDY": 46},
            {"USUBJID": "S1", "VISIT": "UNSCHEDULED", "VSDTC": "2021-08-12T09:30", "VSDY": 53},
        ],
    )
    for domain in (lb, vs):
        domain.update(visits.derive(domain, *_planned(study)))
    _number([lb, vs], study)
    assert vs.frame["VISITNUM"].tolist() == [3.01, 3.02]
    assert lb.frame["VISITNUM"].tolist() == [3.02]  # the same date as the second VS record


def test_unscheduled_without_a_study_day_names_the_likely_cause():
    lb = mapped(
        "LB", [{"USUBJID": "S1", "VISIT": "UNSCHEDULED", "LBDTC": "2021-08-12", "LBDY": None}]
    )
    lb.update(visits.derive(lb, *_planned(plmsc_study())))
    with pytest.raises(UserError, match=r"has no study day \(a partial date, or no RFSTDTC"):
        _number([lb], plmsc_study())


def _planned(study: Study) -> tuple[list[Visit], str]:
    return study.visits, study.unscheduled_visit


def _number(domains: list[DomainFrame], study: Study) -> None:
    """Number the unscheduled visits, as the derivation pipeline does."""
    found = visits.number_unscheduled(domains, *_planned(study))
    for domain in domains:
        domain.update(found.get(domain.code, {}))
