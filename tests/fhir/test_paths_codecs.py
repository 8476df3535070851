"""FHIR paths and value codecs, with hand-worked values."""

import pytest

from trialbridge.fhir.codecs import datetime_from_fhir, datetime_to_fhir
from trialbridge.fhir.paths import get_path, set_path
from trialbridge.fhir.table import ORIGINAL_TEXT


def test_set_and_get_nested_paths_with_indexes():
    resource: dict = {}
    set_path(resource, "code.coding[1].code", "HGB")
    set_path(resource, "code.coding[0].system", "x")
    assert resource == {"code": {"coding": [{"system": "x"}, {"code": "HGB"}]}}
    assert get_path(resource, "code.coding[1].code") == "HGB"
    assert get_path(resource, "code.coding[2].code") is None
    assert get_path(resource, "valueQuantity.value") is None
    with pytest.raises(ValueError, match="bad FHIR path step"):
        set_path(resource, "code..x", 1)


@pytest.mark.parametrize(
    ("sdtm", "fhir", "original"),
    [
        ("2021", "2021", None),
        ("2021-06", "2021-06", None),
        ("2021-06-21", "2021-06-21", None),
        ("2021-06-21T10:15", "2021-06-21", "2021-06-21T10:15"),  # FHIR needs seconds + zone
        # SDTM's own offset: FHIR holds it, but a dateTime reads back as local time (no zone)
        ("2021-06-21T10:15:00+03:30", "2021-06-21T10:15:00+03:30", "2021-06-21T10:15:00+03:30"),
        ("2021---15", "2021", "2021---15"),  # unknown month: FHIR has no form for it
    ],
)
def test_datetimes_fhir_cannot_hold_keep_their_sdtm_text(sdtm, fhir, original):
    assert datetime_to_fhir(sdtm) == (fhir, original)
    extension = [{"url": ORIGINAL_TEXT, "valueString": original}] if original else None
    assert datetime_from_fhir(fhir, extension) == sdtm


def test_the_mapping_doc_is_current():
    from tests.helpers import ROOT
    from trialbridge.fhir.docs import render

    assert (ROOT / "docs" / "fhir-mapping.md").read_text() == render(), (
        "run: trialbridge fhir tables > docs/fhir-mapping.md"
    )
