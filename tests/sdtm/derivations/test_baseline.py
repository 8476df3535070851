"""--LOBXFL / --BLFL: last non-missing result on or before first dose."""

import pandas as pd

from tests.helpers import mapped
from trialbridge.sdtm.derivations import baseline

DM = pd.DataFrame({"USUBJID": ["S1"], "RFXSTDTC": ["2021-06-21T10:15"]})


def flags(rows: list[dict]) -> list:
    lb = mapped("LB", rows, baseline={"by": ["LBTESTCD"], "flags": ["LOBXFL", "BLFL"]})
    lb.update(baseline.derive(lb, DM))
    assert lb.frame["LBLOBXFL"].equals(lb.frame["LBBLFL"])
    return [None if pd.isna(v) else v for v in lb.frame["LBLOBXFL"]]


def row(test: str, dtc: str, result: str | None) -> dict:
    return {"USUBJID": "S1", "LBTESTCD": test, "LBDTC": dtc, "LBORRES": result}


def test_missing_baseline_value_falls_back_to_the_previous_result():
    assert flags(
        [
            row("IL6", "2021-06-10T08:45", "6.8"),
            row("IL6", "2021-06-21T08:00", None),  # day 1 sample not reported
            row("IL6", "2021-07-19T08:45", "5.4"),
        ]
    ) == ["Y", None, None]


def test_same_day_before_dose_wins_and_after_dose_does_not_count():
    assert flags(
        [
            row("A", "2021-06-10", "1"),
            row("A", "2021-06-21T08:00", "2"),  # pre-dose on day 1: the baseline
            row("B", "2021-06-10", "3"),  # B's only pre-dose value
            row("B", "2021-06-21T11:00", "4"),  # post-dose
        ]
    ) == [None, "Y", "Y", None]


def test_a_day_one_record_without_time_counts_as_pre_dose():
    assert flags([row("A", "2021-06-10", "1"), row("A", "2021-06-21", "2")]) == [None, "Y"]


def test_no_pre_dose_value_no_flag():
    assert flags([row("A", "2021-06-22", "1"), row("A", "2021-06", "2")]) == [None, None]


def test_not_done_records_are_not_candidates():
    lb = mapped(
        "LB",
        [
            {**row("A", "2021-06-10", "1")},
            {**row("A", "2021-06-20", "9"), "LBSTAT": "NOT DONE"},
        ],
        baseline={"by": ["LBTESTCD"]},
    )
    lb.frame.loc[0, "LBSTAT"] = None
    lb.update(baseline.derive(lb, DM))
    assert lb.frame["LBLOBXFL"].tolist()[0] == "Y"
    assert pd.isna(lb.frame["LBLOBXFL"].iloc[1])


def test_a_mapped_flag_is_kept():
    lb = mapped(
        "LB",
        [
            {**row("A", "2021-06-10", "1"), "LBBLFL": None},
            {**row("A", "2021-06-20", "2"), "LBBLFL": "Y"},
        ],
        baseline={"by": ["LBTESTCD"], "flags": ["LOBXFL", "BLFL"]},
    )
    lb.update(baseline.derive(lb, DM))
    assert lb.frame["LBBLFL"].tolist()[1] == "Y" and pd.isna(lb.frame["LBBLFL"].iloc[0])
    assert lb.frame["LBLOBXFL"].tolist()[1] == "Y"
