"""A resource a pull gets twice (from $export and from a search) is read once when the copies
are the same; copies that differ are both handed on, and the reader names them."""

from __future__ import annotations

from typing import Any

import pytest

from trialbridge.errors import UserError
from trialbridge.fhir.parse import convert
from trialbridge.fhir.server import pull

TAG = {"system": pull.STUDY_TAG, "code": "S1"}


def _patient(name: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "meta": {"tag": [TAG]}, "name": [{"text": name}]}


class _Server:
    base_url = "http://fhir.example/fhir"


def _pulled(monkeypatch: pytest.MonkeyPatch, exported: list, searched: list) -> pull.Pulled:
    monkeypatch.setattr(pull, "export", lambda server, study: list(exported))
    monkeypatch.setattr(pull, "search", lambda server, study, types: list(searched))
    return pull.pull(_Server(), "S1")  # type: ignore[arg-type]


def test_identical_copies_are_read_once_and_counted(monkeypatch: pytest.MonkeyPatch):
    other = _patient("A") | {"id": "p2", "meta": {"tag": [TAG | {"code": "S2"}]}}
    untagged = _patient("A") | {"id": "p3", "meta": {}}
    pulled = _pulled(monkeypatch, [_patient("A"), other, untagged, untagged], [_patient("A")])
    # another study's resource is counted; one without a study tag is another system's, kept
    # once for --include-foreign
    assert pulled == pull.Pulled(
        [_patient("A")], copies=1, other_studies=1, foreign=[untagged], exported=True
    )


def test_copies_that_differ_are_both_handed_to_the_reader(monkeypatch: pytest.MonkeyPatch):
    resources = _pulled(monkeypatch, [_patient("A")], [_patient("B")]).resources
    assert resources == [_patient("A"), _patient("B")]  # the last no longer wins unseen
    with pytest.raises(UserError, match="Patient/p1: appears again with other content"):
        convert(resources)


def test_a_resource_nested_too_deep_is_one_line_before_copies_are_compared():
    """Two copies nested a thousand levels deep ended in RecursionError when compared."""
    deep: dict[str, Any] = {}
    for _ in range(1_000):
        deep = {"a": deep}
    resource = _patient("A") | {"extension": [deep]}
    with pytest.raises(UserError) as caught:
        pull._resource(resource, "http://fhir.example/fhir/Patient.ndjson, line 3")
    assert caught.value.line() == (
        "http://fhir.example/fhir/Patient.ndjson, line 3: a resource nested deeper than 100 "
        "levels; the server is at fault: ask its administrator"
    )
