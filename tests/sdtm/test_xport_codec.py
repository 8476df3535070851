"""The column-wise XPT v5 codec against pyreadstat, the independent reference: on random
frames (text of 1 to 200 bytes, blanks, missing numbers, 0 and -0, tiny and huge values
inside the IBM range, many columns) both writers give the same bytes, and each reader reads
the other's file to the same values."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trialbridge.sdtm.dataset import char_length
from trialbridge.sdtm.ibm import from_ibm, to_ibm
from trialbridge.sdtm.xport_read import read_xport
from trialbridge.sdtm.xport_write import XportColumn, write_xport
from trialbridge.sdtm.xpt import IBM_MAX, IBM_MIN

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
TEXT = st.one_of(
    st.none(),
    st.just(""),
    st.text(PRINTABLE, min_size=1, max_size=1),
    st.text(PRINTABLE, min_size=200, max_size=200),
    st.text(PRINTABLE, max_size=30),
)
MAGNITUDE = st.floats(min_value=IBM_MIN, max_value=IBM_MAX * (1 - 2**-52), allow_subnormal=False)
NUMBER = st.one_of(
    st.just(np.nan),
    st.just(0.0),
    st.just(-0.0),
    st.sampled_from([IBM_MIN, -IBM_MIN, np.nextafter(IBM_MAX, 0), 1.0, 0.1, 2.0**53 + 2]),
    MAGNITUDE,
    MAGNITUDE.map(lambda v: -v),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(min_value=0, max_value=12))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=60))
    columns = {}
    for number, numeric in enumerate(kinds):
        values = st.lists(NUMBER if numeric else TEXT, min_size=rows, max_size=rows)
        name = f"{'N' if numeric else 'C'}{number}"
        drawn = draw(values)
        columns[name] = (
            pd.Series(drawn, dtype="float64") if numeric else pd.Series(drawn, dtype=object)
        )
    return pd.DataFrame(columns, index=range(rows))


def _columns(frame: pd.DataFrame) -> list[XportColumn]:
    return [
        XportColumn(
            name,
            f"Label of {name}",
            "Num" if name[0] == "N" else "Char",
            8 if name[0] == "N" else char_length(frame[name]),
        )
        for name in frame.columns
    ]


def _reference(frame: pd.DataFrame, path: Path) -> datetime:
    """pyreadstat writes the frame (missing text as ''); returns the time it stamped."""
    plain = frame.copy()
    for name in plain.columns:
        if name[0] == "C":
            plain[name] = plain[name].fillna("").astype(object)
    pyreadstat.write_xport(
        plain,
        str(path),
        file_label="Random frame",
        column_labels=[f"Label of {n}" for n in plain.columns],
        table_name="RANDOM",
        file_format_version=5,
    )
    return datetime.strptime(path.read_bytes()[144:160].decode("ascii"), "%d%b%y:%H:%M:%S")


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """What any reader gives back: trailing blanks dropped, blank text missing, -0 as 0."""
    expected = frame.copy()
    for name in expected.columns:
        if name[0] == "C":
            text = expected[name].fillna("").astype(str).str.rstrip(" ")
            expected[name] = text.where(text != "").astype(object)
        else:
            expected[name] = expected[name] + 0.0
    return expected


def _ends_blank(frame: pd.DataFrame) -> bool:
    """A last record of blank text only: XPT pads its last 80-byte block with blanks, so no
    reader can tell such a record from padding (SDTM records always have USUBJID or STUDYID)."""
    if frame.empty or any(name[0] == "N" for name in frame.columns):
        return False
    last = frame.iloc[-1].fillna("").astype(str).str.strip(" ")
    return bool((last == "").all())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_both_writers_give_the_same_bytes_and_both_readers_the_same_values(tmp_path_factory, frame):
    assume(not _ends_blank(frame))
    folder = tmp_path_factory.mktemp("xpt")
    reference = folder / "reference.xpt"
    created = _reference(frame, reference)
    mine = folder / "mine.xpt"
    with mine.open("wb") as handle:
        write_xport(handle, "RANDOM", "Random frame", _columns(frame), frame, created)
    assert mine.read_bytes() == reference.read_bytes()

    read = read_xport(reference)
    assert (read.name, read.label) == ("RANDOM", "Random frame")
    assert [(v.name, v.label, v.type) for v in read.variables] == [
        (c.name, c.label, c.type) for c in _columns(frame)
    ]
    expected = _expected(frame)
    got = read.frame.astype({n: object for n in frame.columns if n[0] == "C"})
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)

    by_reference, _ = pyreadstat.read_xport(str(mine))
    for name in frame.columns:
        if name[0] == "C":
            text = by_reference[name].astype(str)
            by_reference[name] = text.where(text != "").astype(object)
    pd.testing.assert_frame_equal(by_reference, expected, check_dtype=False, check_index_type=False)


def test_ibm_floats_by_hand():
    # 1 = 16**1 * 1/16: exponent 65 (0x41), fraction 0x10...; -2.5 = -(16**1 * 0x28/256)
    values = np.array([1.0, -2.5, 0.0, np.nan, 100.0])
    raw = to_ibm(values).tobytes().hex()
    assert [raw[i : i + 16] for i in range(0, len(raw), 16)] == [
        "4110000000000000",
        "c128000000000000",
        "0000000000000000",
        "2e00000000000000",
        "4264000000000000",
    ]
    back = from_ibm(np.frombuffer(bytes.fromhex(raw), dtype=np.uint8).reshape(5, 8))
    np.testing.assert_array_equal(back, values)


def test_special_missing_values_and_short_numbers_are_read():
    # .A and ._ are missing; a 4-byte number is the leading half of a double (1.0)
    raw = bytes.fromhex("41000000000000005f00000000000000")
    assert np.isnan(from_ibm(np.frombuffer(raw, dtype=np.uint8).reshape(2, 8))).all()
    short = np.frombuffer(bytes.fromhex("41100000"), dtype=np.uint8).reshape(1, 4)
    assert from_ibm(short).tolist() == [1.0]


def test_a_file_that_is_not_xpt_is_one_line(tmp_path):
    from tests.helpers import run_cli

    (tmp_path / "ae.xpt").write_bytes(b"PK\x03\x04 not a transport file")
    result = run_cli("validate", tmp_path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"error: {tmp_path / 'ae.xpt'}: not a SAS XPORT v5 file; give an .xpt file written as"
        " XPT v5"
    )


def test_a_truncated_xpt_file_is_one_line(tmp_path):
    from tests.helpers import run_cli

    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AESEQ": [1.0, 2.0]})
    whole = tmp_path / "whole.xpt"
    pyreadstat.write_xport(frame, str(whole), table_name="AE", file_format_version=5)
    folder = tmp_path / "sdtm"
    folder.mkdir()
    (folder / "ae.xpt").write_bytes(whole.read_bytes()[:-75])  # the second record cut short
    result = run_cli("validate", folder, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f"error: {folder / 'ae.xpt'}: XPT file ends inside a record (truncated?); copy or"
        " export the file again"
    )
