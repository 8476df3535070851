"""The FHIR validator on deliberately broken resources: each is reported with its rule."""

import copy

import pytest

from trialbridge.fhir.checks import validate

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "meta": {
        "tag": [{"system": "https://trialbridge.org/fhir/CodeSystem/sdtm-dataset", "code": "LB"}],
        "source": "raw/labs.csv#row=7",
    },
    "status": "final",
    "code": {"coding": [{"system": "https://www.cdisc.org/x", "code": "HGB"}]},
    "subject": {"reference": "Patient/p1"},
    "valueQuantity": {"value": 131.0, "unit": "g/L"},
}


def findings(*resources: dict) -> list[tuple[str, str]]:
    return [(f.rule, f.message) for f in validate([PATIENT, *resources])]


def broken(**changes: object) -> dict:
    resource = copy.deepcopy(OBSERVATION)
    for key, value in changes.items():
        if value is None:
            resource.pop(key)
        else:
            resource[key] = value
    return resource


def test_a_valid_observation_has_no_findings():
    assert findings(OBSERVATION) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": None}, ("required", "Observation.status is required (min 1)")),
        (
            {"status": "done"},
            ("binding", "Observation.status 'done' is not in the required value set"),
        ),
        (
            {"dataAbsentReason": {"text": "not done"}},
            ("obs-6", "dataAbsentReason only when there is no value[x]"),
        ),
        (
            {"subject": {"reference": "Patient/nobody"}},
            (
                "reference",
                "Observation.subject.reference 'Patient/nobody' does not resolve in this output",
            ),
        ),
        (
            {"valueQuantity": {"value": 131.0, "unit": ""}},
            (
                "ele-1",
                "Observation.valueQuantity.unit is empty; an element needs a value or children",
            ),
        ),
        (
            {"extension": [{"url": "x", "valueString": "a", "extension": [{"url": "y"}]}]},
            ("ext-1", "Observation.extension: an extension has a value[x] or extensions, not both"),
        ),
    ],
)
def test_each_broken_resource_is_reported(changes: dict, expected: tuple[str, str]):
    assert expected in findings(broken(**changes))


def test_a_bad_code_in_a_required_binding_on_another_type():
    assert findings({**PATIENT, "id": "p2", "gender": "M"}) == [
        ("binding", "Patient.gender 'M' is not in the required value set")
    ]


def test_findings_name_the_sdtm_record():
    (finding,) = validate([PATIENT, broken(status=None)])
    assert finding.line() == (
        "Observation/o1 [required] Observation.status is required (min 1) "
        "(SDTM LB, raw/labs.csv#row=7)"
    )


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        (
            broken(valueQuantity={"value": 131.0, "comparator": "about"}),
            (
                "binding",
                "Observation.valueQuantity.comparator 'about' is not in the required value set",
            ),
        ),
        (
            broken(referenceRange=[{"low": {"value": 120.0}}, {"appliesTo": [{"text": "x"}]}]),
            ("obs-3", "a reference range needs at least a low, a high or a text"),
        ),
        (
            broken(valueQuantity={"value": 1.0, "code": "g/L"}),
            ("qty-3", "a quantity with a code names the code system"),
        ),
        (
            broken(referenceRange=[{"low": {"value": 1.0, "comparator": "<"}}]),
            ("sqty-1", "a simple quantity has no comparator"),
        ),
        (
            {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"code": "AMB"},
                # 10:00 at +01:00 is 09:00 UTC: after an end of 08:30 UTC
                "period": {"start": "2021-06-12T10:00:00+01:00", "end": "2021-06-12T08:30:00Z"},
            },
            ("per-1", "a period's start is not after its end"),
        ),
        (
            {
                "resourceType": "Group",
                "id": "g1",
                "type": "person",
                "actual": False,
                "member": [{"entity": {"reference": "Patient/p1"}}],
            },
            ("grp-1", "only an actual group lists members"),
        ),
    ],
)
def test_invariants_and_nested_bindings(resource: dict, expected: tuple[str, str]):
    assert findings(resource) == [expected]


def test_a_period_with_a_zone_that_puts_start_first_is_fine():
    encounter = {
        "resourceType": "Encounter",
        "id": "e2",
        "status": "finished",
        "class": {"code": "AMB"},
        "period": {"start": "2021-06-12T10:00:00+01:00", "end": "2021-06-12T09:30:00Z"},
    }
    assert findings(encounter) == []


def test_an_empty_list_item_is_reported():
    assert ("ele-1", "Observation.category is empty; an element needs a value or children") in (
        findings(broken(category=[{}, {"text": "x"}]))
    )


def test_structure_is_checked_with_the_r4b_models():
    assert findings(broken(valueQuantity={"value": "abc"}, bogus=1)) == [
        (
            "structure",
            "Observation.valueQuantity.value: Value error, Decimal value string does not match "
            "spec regex.",
        ),
        ("structure", "Observation.bogus: Extra inputs are not permitted"),
    ]


def test_a_table_path_with_a_typo_is_caught_at_build(tmp_path):
    """A mapping table that writes an element R4 does not have fails validation, by shape."""
    from trialbridge.fhir import render
    from trialbridge.fhir.checks import check

    tree = render.Tree(1)
    tree.put("resourceType", render.constant("Observation"))
    tree.put("status", render.constant("final"))
    tree.put("code.text", render.constant("x"))
    tree.put("valueQuantiy.value", render.constant(1))
    import json

    (resource,) = [json.loads(t) for t in tree.render().to_pylist()]
    assert [f.rule for f in check(resource, None)] == ["structure"]
