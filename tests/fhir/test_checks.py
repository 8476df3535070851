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
