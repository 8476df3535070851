"""DM: USUBJID, reference dates, AGE, arms and COUNTRY, worked by hand."""

import pandas as pd
import pytest

from tests.helpers import mapped, plmsc_study
from trialbridge.errors import UserError
from trialbridge.sdtm.derivations import age, arms, country, reference_dates, usubjid
from trialbridge.sdtm.lineage import SUBJECT


def dm_rows() -> list[dict]:
    return [
        {
            SUBJECT: "001",
            "SITEID": "01",
            "BRTHDTC": "1983-03-14",
            "RFICDTC": "2021-06-11",
            "ARMCD": "PLMSC",
            "RFENDTC": "2021-12-16",
        },
        {
            SUBJECT: "002",
            "SITEID": "02",
            "BRTHDTC": "1990-07-25",
            "RFICDTC": "2021-06-16",
            "ARMCD": "PLMSC",
            "RFENDTC": "2021-12-20",
        },
        {
            SUBJECT: "003",
            "SITEID": "01",
            "BRTHDTC": "1985",
            "RFICDTC": "2021-06-16",
            "ARMCD": None,
            "RFENDTC": None,
        },
    ]


def test_usubjid_from_study_parts_and_carried_by_subject():
    study = plmsc_study()
    dm = mapped("DM", dm_rows())
    dm.update(usubjid.derive_dm(dm, study))
    assert dm.frame["USUBJID"].tolist() == [
        "PLMSC-SPMS-01-001",
        "PLMSC-SPMS-02-002",
        "PLMSC-SPMS-01-003",
    ]
    ex = mapped("EX", [{SUBJECT: "002"}, {SUBJECT: "009"}])
    with pytest.raises(UserError, match=r"row 3, column subject id: subject '009' is not in"):
        ex.update(usubjid.derive_other(ex, dm.frame, study))


def test_duplicate_subject_in_demographics():
    dm = mapped("DM", [*dm_rows(), dm_rows()[0]])
    with pytest.raises(UserError) as err:
        dm.update(usubjid.derive_dm(dm, plmsc_study()))
    assert err.value.line() == (
        "raw/test.csv, row 5, column subject id: subject '001' appears twice in demographics; "
        "keep one record per subject"
    )


def test_reference_dates_first_and_last_of_complete_dates():
    study = plmsc_study()
    dm = mapped("DM", dm_rows())
    dm.update(usubjid.derive_dm(dm, study))
    ex = mapped(
        "EX",
        [
            {
                "USUBJID": "PLMSC-SPMS-01-001",
                "EXSTDTC": "2021-06-21T10:15",
                "EXENDTC": "2021-06-21T10:45",
            },
            {"USUBJID": "PLMSC-SPMS-01-001", "EXSTDTC": "2021-06", "EXENDTC": "2021-06"},  # partial
        ],
    )
    vs = mapped(
        "VS",
        [
            {"USUBJID": "PLMSC-SPMS-01-001", "VSDTC": "2021-12-16T09:00"},
            {"USUBJID": "PLMSC-SPMS-02-002", "VSDTC": "2021-12-21"},
        ],
    )
    dm.update(
        reference_dates.derive(dm.frame, {"DM": dm, "EX": ex, "VS": vs}, study.reference_dates)
    )
    frame = dm.frame
    assert frame["RFSTDTC"].tolist()[0] == "2021-06-21T10:15"
    assert frame["RFXENDTC"].tolist()[0] == "2021-06-21T10:45"
    assert frame["RFSTDTC"].isna().tolist() == [False, True, True]
    # RFPENDTC: the last of RFENDTC and every --DTC/--STDTC/--ENDTC
    assert frame["RFPENDTC"].tolist()[:2] == ["2021-12-16T09:00", "2021-12-21"]


def test_age_in_completed_years_and_blank_for_partial_birth_date():
    dm = mapped("DM", dm_rows())
    dm.update(age.derive(dm, plmsc_study()))
    assert dm.frame["AGE"].tolist()[:2] == [38.0, 30.0]  # 2021-06-16 is before 25 July
    assert pd.isna(dm.frame["AGE"].iloc[2])
    assert dm.frame["AGEU"].tolist()[:2] == ["YEARS", "YEARS"]
    assert pd.isna(dm.frame["AGEU"].iloc[2])


def test_arms_for_treated_untreated_and_unassigned_subjects():
    dm = mapped("DM", dm_rows())
    dm.frame["RFXSTDTC"] = ["2021-06-21T10:15", None, None]
    dm.update(arms.derive(dm, plmsc_study()))
    frame = dm.frame
    assert frame["ARM"].tolist()[:2] == ["Placenta-derived MSC 1x10^6 cells/kg IV"] * 2
    assert frame["ACTARMCD"].tolist()[0] == "PLMSC"
    assert frame["ACTARMCD"].isna().tolist() == [False, True, True]
    assert frame["ARMNRS"].tolist()[1:] == ["ASSIGNED, NOT TREATED", "NOT ASSIGNED"]


def test_country_from_the_site_table():
    dm = mapped("DM", dm_rows())
    dm.update(country.derive(dm, plmsc_study()))
    assert dm.frame["COUNTRY"].tolist() == ["IRN", "IRN", "IRN"]
    bad = mapped("DM", [{**dm_rows()[0], "SITEID": "77"}])
    with pytest.raises(UserError, match=r"site .77. is not in study\.yaml sites"):
        bad.update(country.derive(bad, plmsc_study()))
