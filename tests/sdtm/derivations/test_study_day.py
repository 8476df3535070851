"""--DY: hand-counted days from RFSTDTC, no day 0, blank for partial dates."""

import pandas as pd

from tests.helpers import mapped
from trialbridge.sdtm.derivations import study_day

DM = pd.DataFrame({"USUBJID": ["S1", "S2"], "RFSTDTC": ["2021-06-21T10:15", "2020-03-01"]})


def test_study_day_across_the_reference_date():
    lb = mapped(
        "LB",
        [
            {"USUBJID": "S1", "LBDTC": "2021-06-20T23:59"},  # the day before: -1, never 0
            {"USUBJID": "S1", "LBDTC": "2021-06-21T08:00"},  # same day, before dosing: 1
            {"USUBJID": "S1", "LBDTC": "2021-06-22"},  # 2
            {"USUBJID": "S1", "LBDTC": "2021-03-01"},  # Mar 1 -> Jun 21 is 112 days: -112
            {"USUBJID": "S1", "LBDTC": "2021-06"},  # partial: blank
            {"USUBJID": "S1", "LBDTC": None},
            {"USUBJID": "S2", "LBDTC": "2020-02-28"},  # 2020 is a leap year: -2
        ],
    )
    lb.update(study_day.derive(lb, DM))
    assert lb.frame["LBDY"].tolist()[:4] == [-1, 1, 2, -112]
    assert lb.frame["LBDY"].isna().tolist() == [False] * 4 + [True, True, False]
    assert lb.frame["LBDY"].iloc[6] == -2


def test_start_and_end_days_for_events():
    ae = mapped("AE", [{"USUBJID": "S1", "AESTDTC": "2021-06-21T14:30", "AEENDTC": "2021-06-25"}])
    ae.update(study_day.derive(ae, DM))
    assert (ae.frame["AESTDY"].iloc[0], ae.frame["AEENDY"].iloc[0]) == (1, 5)


def test_subject_without_reference_date_gets_blank_days():
    dm = pd.DataFrame({"USUBJID": ["S1"], "RFSTDTC": [None]})
    vs = mapped("VS", [{"USUBJID": "S1", "VSDTC": "2021-06-21"}])
    vs.update(study_day.derive(vs, dm))
    assert vs.frame["VSDY"].isna().all()
