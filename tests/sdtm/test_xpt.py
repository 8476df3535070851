"""XPT v5: the FDA limits are checked before writing, and files read back equal."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from trialbridge.errors import UserError
from trialbridge.sdtm import xpt
from trialbridge.sdtm.dataset import finalize
from trialbridge.sdtm.metadata import domain_meta


def ae(**overrides: list) -> xpt.Dataset:
    columns = {
        "STUDYID": ["S", "S"],
        "DOMAIN": ["AE", "AE"],
        "USUBJID": ["S-1", "S-2"],
        "AESEQ": [1.0, 1.0],
        "AETERM": ["Headache", "Nausea"],
        "AEDECOD": ["Headache", None],
        "AESTDY": [1.0, -3.0],
        "__file": ["raw/ae.csv", "raw/ae.csv"],
        "__row": [2, 3],
        "__column": [None, None],
    }
    columns.update(overrides)
    return finalize("AE", domain_meta("AE"), pd.DataFrame(columns))


def test_write_and_read_back_equal(tmp_path: Path):
    dataset = ae()
    path = xpt.write(dataset, tmp_path)
    assert path.name == "ae.xpt"
    frame, labels, label = xpt.read(path)
    assert label == "Adverse Events"
    assert list(frame.columns) == [v.name for v in dataset.variables]
    assert labels["AESTDY"] == "Study Day of Start of Adverse Event"
    pd.testing.assert_frame_equal(frame, dataset.frame, check_dtype=False)


def test_char_length_is_the_longest_value(tmp_path: Path):
    path = xpt.write(ae(AETERM=["Headache", "x" * 200]), tmp_path)
    _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    assert meta.variable_storage_width["AETERM"] == 200
    assert meta.variable_storage_width["AEDECOD"] == 8


def test_exp_variables_kept_empty_and_unused_perm_dropped():
    names = [v.name for v in ae().variables]
    assert "AESER" in names  # Exp, not collected: present and empty
    assert "AEMODIFY" not in names  # Perm, not collected: left out
    assert names.index("AETERM") < names.index("AEDECOD") < names.index("AESTDY")


def test_value_over_200_bytes_is_an_error_naming_the_record(tmp_path: Path):
    with pytest.raises(UserError) as err:
        xpt.write(ae(AETERM=["Headache", "y" * 201]), tmp_path)
    assert err.value.line() == (
        "ae.xpt: AETERM value is 201 bytes at USUBJID S-2, AESEQ 1 (raw/ae.csv, row 3); "
        "XPT v5 allows 200; shorten it or split it into SUPP variables"
    )
    assert not list(tmp_path.iterdir())


def test_non_ascii_is_an_error(tmp_path: Path):
    with pytest.raises(UserError, match="AETERM value 'Céphalée' has non-ASCII characters"):
        xpt.write(ae(AETERM=["Céphalée", "x"]), tmp_path)


def test_label_over_40_characters_is_an_error(tmp_path: Path):
    dataset = ae()
    dataset.variables[4] = dataset.variables[4].model_copy(update={"label": "L" * 41})
    with pytest.raises(UserError, match=r"label of AETERM is 41 characters.*allows 40"):
        xpt.write(dataset, tmp_path)


def test_long_variable_name_is_an_error(tmp_path: Path):
    dataset = ae()
    dataset.variables[4] = dataset.variables[4].model_copy(update={"name": "AETERMLONG"})
    with pytest.raises(UserError, match="variable name 'AETERMLONG' is not 1-8"):
        xpt.check(dataset)


@pytest.mark.parametrize("value", [1e76, -1e76, 2 * 16.0**62, 1e-80, math.inf])
def test_numbers_outside_the_ibm_range_are_errors(tmp_path: Path, value: float):
    with pytest.raises(UserError, match="outside the IBM float range"):
        xpt.write(ae(AESTDY=[1.0, value]), tmp_path)


def test_numbers_inside_the_ibm_range_round_trip(tmp_path: Path):
    largest = float(np.nextafter(2 * 16.0**62, 0))  # pyreadstat's limit, see xpt.IBM_MAX
    values = [0.0, -0.0, 0.1, 1e-10, 2.0**53, largest, 16.0**-65, 12345.6789]
    frame, _, _ = xpt.read(xpt.write(ae(AESTDY=values[:2], AESEQ=values[2:4]), tmp_path))
    assert frame["AESTDY"].tolist() == values[:2]
    assert frame["AESEQ"].tolist() == values[2:4]
    rest = ae(AESTDY=values[4:6], AESEQ=values[6:8])
    frame, _, _ = xpt.read(xpt.write(rest, tmp_path))
    assert np.array_equal(frame["AESTDY"].to_numpy(), np.array(values[4:6]))
    assert frame["AESEQ"].tolist() == values[6:8]


def test_header_timestamps_come_from_the_caller(tmp_path: Path):
    from datetime import datetime

    path = xpt.write(ae(), tmp_path, created=datetime(2022, 2, 15, 9, 0, 0))
    head = path.read_bytes()[:560]
    assert head.count(b"15FEB22:09:00:00") == 4


def test_a_number_outside_the_ibm_range_is_named_as_a_number(tmp_path: Path):
    with pytest.raises(UserError) as error:
        xpt.write(ae(AESTDY=[1.0, 1e308]), tmp_path)
    assert error.value.line() == (
        "ae.xpt: AESTDY value 1e+308 is outside the IBM float range at USUBJID S-2, AESEQ 1 "
        "(raw/ae.csv, row 3); XPT v5 numbers must be 0 or from 5.398e-79 to below 9.046e+74 in "
        "magnitude"
    )


def test_a_control_character_in_a_value_is_refused_shown_escaped(tmp_path: Path):
    with pytest.raises(UserError) as error:
        xpt.write(ae(AETERM=["Head\x07ache", "Nausea"]), tmp_path)
    assert error.value.line() == (
        "ae.xpt: AETERM value 'Head\\x07ache' has a control character at USUBJID S-1, AESEQ 1 "
        "(raw/ae.csv, row 2); remove it from the source value (tabs and line breaks are kept)"
    )
    assert not (tmp_path / "ae.xpt").exists()


def test_tabs_and_line_breaks_in_values_are_kept(tmp_path: Path):
    frame, _, _ = xpt.read(xpt.write(ae(AETERM=["a\tb", "c\r\nd"]), tmp_path))
    assert frame["AETERM"].tolist() == ["a\tb", "c\r\nd"]
