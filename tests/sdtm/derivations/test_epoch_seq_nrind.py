"""EPOCH by element start, --SEQ order, and --NRIND."""

import pandas as pd

from tests.helpers import mapped, plmsc_study
from trialbridge.sdtm.derivations import epoch, range_indicator, seq

DM = pd.DataFrame(
    {
        "USUBJID": ["S1"],
        "ARMCD": ["PLMSC"],
        "ACTARMCD": ["PLMSC"],
        "RFICDTC": ["2021-06-11"],
        "RFXSTDTC": ["2021-06-21T10:15"],
        "RFXENDTC": ["2021-06-21T10:45"],
    }
)


def test_epoch_follows_the_element_starts():
    vs = mapped(
        "VS",
        [
            {"USUBJID": "S1", "VSDTC": "2021-06-01"},  # before consent: no epoch
            {"USUBJID": "S1", "VSDTC": "2021-06-12T09:00"},  # screening
            {"USUBJID": "S1", "VSDTC": "2021-06-21T09:30"},  # day 1 before the infusion
            {"USUBJID": "S1", "VSDTC": "2021-06-21T14:00"},  # after it starts
            {"USUBJID": "S1", "VSDTC": "2021-06-21"},  # no time on day 1: the later element
            {"USUBJID": "S1", "VSDTC": "2021-06-22"},  # follow-up starts the day after
            {"USUBJID": "S1", "VSDTC": "2021-07"},  # partial: no epoch
        ],
    )
    vs.update(epoch.derive(vs, DM, plmsc_study()))
    assert [None if pd.isna(v) else v for v in vs.frame["EPOCH"]] == [
        None,
        "SCREENING",
        "SCREENING",
        "TREATMENT",
        "TREATMENT",
        "FOLLOW-UP",
        None,
    ]


def test_seq_orders_by_keys_then_source_row_per_subject():
    lb = mapped(
        "LB",
        [
            {"USUBJID": "S2", "LBTESTCD": "HGB", "LBSPEC": "BLOOD", "VISITNUM": 1.0},
            {"USUBJID": "S1", "LBTESTCD": "WBC", "LBSPEC": "BLOOD", "VISITNUM": 1.0},
            {"USUBJID": "S1", "LBTESTCD": "HGB", "LBSPEC": "BLOOD", "VISITNUM": 3.0},
            {"USUBJID": "S1", "LBTESTCD": "HGB", "LBSPEC": "BLOOD", "VISITNUM": 1.0},
        ],
    )
    lb.frame = seq.order(lb)
    lb.update(seq.derive(lb))
    got = lb.frame[["USUBJID", "LBTESTCD", "VISITNUM", "LBSEQ"]].values.tolist()
    assert got == [
        ["S1", "HGB", 1.0, 1.0],
        ["S1", "HGB", 3.0, 2.0],
        ["S1", "WBC", 1.0, 3.0],
        ["S2", "HGB", 1.0, 1.0],
    ]


def test_range_indicator():
    lb = mapped(
        "LB",
        [{"LBSTRESN": v, "LBSTNRLO": 4.0, "LBSTNRHI": 11.0} for v in (3.9, 4.0, 11.0, 11.1, None)],
    )
    lb.frame["LBSTRESN"] = lb.frame["LBSTRESN"].astype("float64")
    lb.update(range_indicator.derive(lb))
    assert [None if pd.isna(v) else v for v in lb.frame["LBNRIND"]] == [
        "LOW",
        "NORMAL",
        "NORMAL",
        "HIGH",
        None,
    ]
