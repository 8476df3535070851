"""Edge cases found by review of the column-wise build: each once produced wrong JSON, a crash
or a silent loss; each now gives the right resource or one clear error."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.errors import UserError
from trialbridge.fhir import bundles, render
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.ids import key_text, resource_id, resource_ids
from trialbridge.fhir.parse import convert, parse
from trialbridge.sdtm.read import read_folder


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return read_folder(out / "sdtm")


def changed(datasets, name: str, row: int, column: str, value: object) -> dict:
    frame = datasets[name].frame.copy()
    frame.loc[row, column] = value
    return {**datasets, name: replace(datasets[name], frame=frame)}


def test_records_render_in_the_order_asked_even_when_they_look_contiguous():
    tree = render.Tree(4)
    tree.put("id", render.text_leaf(pa.array(list("abcd"), render.TEXT)))
    tree.put("note", render.text_leaf(pa.array([None, "x", None, "y"], render.TEXT)))
    assert tree.render(np.array([0, 2, 1, 3])).to_pylist() == [
        '{"id":"a"}',
        '{"id":"c"}',
        '{"id":"b","note":"x"}',
        '{"id":"d","note":"y"}',
    ]
    assert tree.render(np.array([0, 0, 2])).to_pylist() == ['{"id":"a"}'] * 2 + ['{"id":"c"}']


def test_an_empty_dataset_builds_no_resources(datasets):
    empty = {**datasets, "AE": replace(datasets["AE"], frame=datasets["AE"].frame.iloc[0:0])}
    empty.pop("SUPPAE")
    empty.pop("RELREC")
    resources = assemble(empty).resources()
    assert not [r for r in resources if r["resourceType"] == "AdverseEvent"]
    parsed = convert(resources)  # AE's definition travels and says it holds 0 records
    assert len(parsed.datasets["AE"].frame) == 0 and parsed.no_input == []


def test_a_line_separator_inside_a_value_survives_ndjson(datasets, tmp_path: Path):
    result = assemble(changed(datasets, "AE", 0, "AETERM", "head\u2028ache"))
    bundles.write(result.built, tmp_path)
    back = parse(bundles.read(tmp_path))
    assert back["AE"].frame.loc[0, "AETERM"] == "head\u2028ache"


def test_an_infinite_number_is_refused_by_name(datasets):
    with pytest.raises(UserError) as error:
        assemble(changed(datasets, "LB", 2, "LBDY", np.inf))
    assert str(error.value) == (
        "LB, record 3: LBDY is inf: FHIR decimals are finite; correct the value in the SDTM dataset"
    )


def test_a_date_no_calendar_has_is_refused(datasets):
    with pytest.raises(UserError, match="LBDTC value '2021-02-30' is not an ISO 8601 date/time"):
        assemble(changed(datasets, "LB", 0, "LBDTC", "2021-02-30"))


def test_a_supplemental_record_must_name_a_record_of_a_grouped_parent(datasets):
    frame = pd.DataFrame(
        {
            "STUDYID": ["PLMSC-SPMS"],
            "RDOMAIN": ["DS"],
            "USUBJID": ["PLMSC-SPMS-01-001"],
            "IDVAR": ["DSSEQ"],
            "IDVARVAL": ["999"],
            "QNAM": ["DSREAS"],
            "QLABEL": ["Reason"],
            "QVAL": ["X"],
        }
    )
    suppds = replace(datasets["SUPPAE"], name="SUPPDS", frame=frame)
    with pytest.raises(UserError) as error:
        assemble({**datasets, "SUPPDS": suppds})
    assert str(error.value).startswith("SUPPDS, row 1: no DS record PLMSC-SPMS-01-001 DSSEQ=999")


def test_ids_agree_with_the_single_id_for_huge_and_whole_keys():
    keys = pd.Series([3.0, 1e20, 3.01])
    assert key_text(keys).to_pylist() == ["3", "1e+20", "3.01"]
    bulk = resource_ids(["S", "Observation", "LB"], [pd.Series(["A"] * 3), keys]).to_pylist()
    assert bulk == [resource_id("S", "Observation", "LB", "A", k) for k in ("3", "1e+20", "3.01")]


def test_a_relrec_link_by_a_text_value_is_a_clear_error(datasets):
    with pytest.raises(UserError, match="RELREC: IDVARVAL 'abc' is not a CMSEQ number"):
        assemble(changed(datasets, "RELREC", 0, "IDVARVAL", "abc"))
