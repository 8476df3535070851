"""ISO 8601 assembly: hand-worked expectations for messy, partial and invalid inputs."""

from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialbridge.converters.dates import assemble, truncations

UNKNOWN = ["UN", "UNK"]


def iso(values: list[str | None], fmt: str = "dd/mm/yyyy", times: list | None = None) -> list:
    dates = pd.Series(values, dtype="str")
    clock = pd.Series(times, dtype="str") if times is not None else None
    out = assemble(dates, fmt, UNKNOWN, clock)
    return [None if pd.isna(v) else v for v in out.iso]


def test_complete_dates_with_and_without_time():
    assert iso(["12/06/2021", "01/07/2021"], times=["10:30", None]) == [
        "2021-06-12T10:30",
        "2021-07-01",
    ]


def test_unknown_day_keeps_year_and_month():
    assert iso(["UN/06/2021"]) == ["2021-06"]


def test_unknown_day_and_month_keeps_year():
    assert iso(["UN/UN/2019", "unk/unk/2019"]) == ["2019", "2019"]


def test_truncated_inputs_are_partial_dates():
    assert iso(["06/2021", "2019"]) == ["2021-06", "2019"]
    assert iso(["2021-06", "2021", "2021-06-12"], fmt="yyyy-mm-dd") == [
        "2021-06",
        "2021",
        "2021-06-12",
    ]


def test_unknown_month_with_known_day_uses_iso_hyphens():
    assert iso(["15/UN/2021"]) == ["2021---15"]


def test_time_is_dropped_when_the_date_is_partial():
    assert iso(["UN/06/2021"], times=["10:00"]) == ["2021-06"]


def test_unknown_minutes_keep_the_hour():
    assert iso(["01/07/2021"], times=["14:UN"]) == ["2021-07-01T14"]


def test_month_names():
    assert iso(["12-JUN-2021", "05-jan-2020", "UN-DEC-2020"], fmt="dd-mmm-yyyy") == [
        "2021-06-12",
        "2020-01-05",
        "2020-12",
    ]


def test_missing_stays_missing():
    assert iso([None, "12/06/2021"]) == [None, "2021-06-12"]


def test_leap_day_only_in_leap_years():
    out = assemble(
        pd.Series(["29/02/2020", "29/02/2021", "29/02/1900", "29/02/2000"]), "dd/mm/yyyy", UNKNOWN
    )
    assert out.bad_date.tolist() == [False, True, True, False]


def test_impossible_dates_are_flagged():
    values = ["30/02/2021", "31/04/2021", "00/01/2021", "12/13/2021", "abc", "2021-06-12"]
    out = assemble(pd.Series(values), "dd/mm/yyyy", UNKNOWN)
    assert out.bad_date.tolist() == [True, True, True, True, True, True]
    assert out.iso.isna().all()


def test_impossible_times_are_flagged():
    out = assemble(
        pd.Series(["01/01/2021"] * 4),
        "dd/mm/yyyy",
        UNKNOWN,
        pd.Series(["24:00", "10:60", "ab:10", "23:59"]),
    )
    assert out.bad_time.tolist() == [True, True, True, False]


def test_a_format_needs_day_month_and_year():
    with pytest.raises(ValueError, match="needs dd, mm"):
        truncations("mm/yyyy")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_any_real_date_round_trips(day: date):
    text = day.strftime("%d/%m/%Y")
    assert iso([text]) == [day.isoformat()]
    assert iso([day.strftime("%d-%b-%Y").upper()], fmt="dd-mmm-yyyy") == [day.isoformat()]


def test_truncation_drops_the_day_whatever_the_order():
    assert iso(["06/2021", "06/15/2021", "2021"], fmt="mm/dd/yyyy") == [
        "2021-06",
        "2021-06-15",
        "2021",
    ]
    out = assemble(pd.Series(["15/2021"]), "mm/dd/yyyy", UNKNOWN)
    assert out.bad_date.tolist() == [True]  # 15 is no month


def test_three_letters_that_are_not_a_month_are_an_error():
    out = assemble(pd.Series(["12/XYZ/2021", "12/UNK/2021"]), "dd/mmm/yyyy", UNKNOWN)
    assert out.bad_date.tolist() == [True, False]
    assert [None if pd.isna(v) else v for v in out.iso] == [None, "2021---12"]


@pytest.mark.parametrize("fmt", ["dd/yyyy", "dd/mm/yy", "yyyy/dd"])
def test_formats_without_day_month_and_year_are_refused(fmt: str):
    with pytest.raises(ValueError, match="needs dd, mm"):
        truncations(fmt)
