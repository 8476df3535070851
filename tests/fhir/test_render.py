"""Column-wise JSON rendering: shapes, list positions, escaping, slices, with hand-written
expected JSON."""

import json

import numpy as np
import pyarrow as pa

from trialbridge.fhir import render


def texts(tree: render.Tree, rows=None) -> list[dict]:
    return [json.loads(t) for t in tree.render(rows).to_pylist()]


def leaf(values: list) -> render.Leaf:
    return render.text_leaf(pa.array(values, render.TEXT))


def test_absent_values_leave_no_trace_and_shapes_keep_record_order():
    tree = render.Tree(3)
    tree.put("resourceType", render.constant("Observation"))
    tree.put("code.coding[0].code", leaf(["A", "B", None]))
    tree.put("code.text", leaf([None, "b", None]))
    tree.put("valueQuantity.value", render.Leaf(render.numbers([1.5, None, -0.0])))
    assert texts(tree) == [
        {
            "resourceType": "Observation",
            "code": {"coding": [{"code": "A"}]},
            "valueQuantity": {"value": 1.5},
        },
        {"resourceType": "Observation", "code": {"coding": [{"code": "B"}], "text": "b"}},
        {"resourceType": "Observation", "valueQuantity": {"value": -0.0}},
    ]
    labels, firsts = tree.shapes()
    assert labels.tolist() == [0, 1, 2] and firsts.tolist() == [0, 1, 2]
    assert texts(tree, np.array([2, 0])) == [texts(tree)[2], texts(tree)[0]]


def test_a_missing_list_item_before_a_present_one_stays_in_place():
    tree = render.Tree(2)
    tree.put("category[0].text", leaf([None, "first"]))
    tree.put("category[1].text", leaf(["second", None]))
    assert texts(tree) == [
        {"category": [{}, {"text": "second"}]},  # ele-1: reported, not silently shifted
        {"category": [{"text": "first"}]},
    ]


def test_extension_items_are_compact():
    tree = render.Tree(2)
    tree.append_items("extension", leaf([None, "x"]))
    tree.append_items(
        "extension", render.Leaf(pa.array(['{"url":"a"},{"url":"b"}', None], render.TEXT))
    )
    assert texts(tree) == [{"extension": [{"url": "a"}, {"url": "b"}]}, {"extension": ["x"]}]


def test_text_is_escaped_exactly_as_json_needs():
    values = ['say "hi"', "back\\slash", "line\nbreak", "tab\tand \u2028 é 中", "plain"]
    tree = render.Tree(len(values))
    tree.put("text", leaf(values))
    assert [t["text"] for t in texts(tree)] == values


def test_numbers_read_back_exactly():
    numbers = [3.0, 0.1, 1e-7, 1e20, 123456.789, 2 / 3, -0.0, 5e-324]
    rendered = render.numbers(numbers).to_pylist()
    assert rendered[:4] == ["3", "0.1", "1e-7", "1e+20"]
    assert [json.loads(t) for t in rendered] == numbers


def test_a_large_render_in_threaded_slices_equals_the_plain_one():
    n = 2 * render.SLICE + 17
    tree = render.Tree(n)
    tree.put("id", leaf([f"r{i}" for i in range(n)]))
    tree.put("note", leaf([None if i % 3 else f"n{i}" for i in range(n)]))
    whole = tree.render()
    assert isinstance(whole, pa.ChunkedArray)
    expected = [
        json.dumps({"id": f"r{i}", **({} if i % 3 else {"note": f"n{i}"})}, separators=(",", ":"))
        for i in range(n)
    ]
    assert whole.to_pylist() == expected
