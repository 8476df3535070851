"""The FHIR checks on resources whose structure is wrong in ways the libraries under them do
not expect (found by fuzzing): findings, not failures."""

from trialbridge.fhir.checks import check


def test_a_contained_resource_of_an_unknown_type_is_a_finding():
    resource = {
        "resourceType": "Group",
        "id": "g1",
        "type": "person",
        "actual": True,
        "contained": [{"resourceType": "Patient/x"}, {"resourceType": 7}],
    }
    found = [(f.rule, f.message) for f in check(resource, None)]
    assert found == [
        ("structure", "Group.contained[0]: resourceType 'Patient/x' is not an R4 resource type"),
        ("structure", "Group.contained[1]: resourceType '7' is not an R4 resource type"),
    ]


def test_a_resource_type_that_is_an_object_inside_an_element_is_a_finding():
    resource = {
        "resourceType": "Group",
        "id": "g1",
        "type": "person",
        "actual": {"resourceType": {}},
    }
    found = [(f.rule, f.message) for f in check(resource, None)]  # FHIRPath failed on it
    assert found == [
        ("structure", "Group.actual: resourceType '{}' is not an R4 resource type"),
        ("ele-1", "Group.actual.resourceType is empty; an element needs a value or children"),
    ]


def test_no_invariant_is_evaluated_on_a_wrong_structure():
    resource = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "valueString": "a",
        "dataAbsentReason": {"text": "b"},  # obs-6 fails: FHIRPath runs on a right structure
    }
    assert [f.rule for f in check(resource, None)] == ["obs-6"]
    resource["component"] = [{"code": {"text": "y"}, "valueString": {"b": 2}}]
    assert [(f.rule, f.message) for f in check(resource, None)] == [
        ("structure", "Observation.component.0.valueString: Input should be a valid string")
    ]
