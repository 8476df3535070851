"""The codelist checks read define.xml as the agencies' validators do: a sponsor term declared
in the variable's codelist extends an extensible codelist (no TB0018), never a non-extensible
one (TB0017 stays), and a term the define does not list is still reported."""

from trialbridge.conformance import engine, fixtures
from trialbridge.conformance.rule import shipped_rules
from trialbridge.sdtm.ct import shipped_terminology

RULES = {r.id: r for r in shipped_rules()}


def _found(rule: str, spec: dict) -> list[tuple[str, int | None, str, object]]:
    datasets, define = fixtures.datasets(spec), fixtures.define(spec)
    found = engine.run(datasets, shipped_terminology(), (RULES[rule],), define)
    return [(f.dataset, f.record, f.variable, f.value) for f in found]


def _cm(terms: list[str] | None) -> dict:
    spec: dict = {"CM": {"USUBJID": ["S-1", "S-1"], "CMROUTE": ["ORAL", "BY MOUTH"]}}
    if terms is not None:
        variables = {"CMROUTE": {"label": "Route of Administration", "terms": terms}}
        spec["_define"] = {"CM": {"label": "Concomitant Medications", "variables": variables}}
    return spec


def test_a_sponsor_term_without_a_define_is_a_warning_on_its_record():
    assert _found("TB0018", _cm(None)) == [("CM", 2, "CMROUTE", "BY MOUTH")]


def test_a_sponsor_term_the_define_declares_is_not_a_finding():
    assert _found("TB0018", _cm(["BY MOUTH", "ORAL"])) == []


def test_a_define_that_lists_other_terms_does_not_answer_for_this_one():
    assert _found("TB0018", _cm(["ORAL", "PER OS"])) == [("CM", 2, "CMROUTE", "BY MOUTH")]


def test_a_non_extensible_codelist_cannot_be_extended_by_the_define():
    spec = {
        "AE": {"USUBJID": ["S-1"], "AESER": ["No"]},
        "_define": {"AE": {"label": "Adverse Events", "variables": {"AESER": {"terms": ["No"]}}}},
    }
    assert _found("TB0017", spec) == [("AE", 1, "AESER", "No")]


def _eg(by_value: list[dict]) -> dict:
    eg = {
        "USUBJID": ["S-1", "S-1", "S-1"],
        "EGTESTCD": ["INTP", "INTP", "EGHRMN"],
        "EGSTRESC": ["NORMAL", "BORDERLINE", "NORMAL"],
    }
    variables = {"EGSTRESC": {"label": "Character Result/Finding in Std Format"}}
    variables["EGSTRESC"]["by_value"] = by_value
    return {"EG": eg, "_define": {"EG": {"label": "ECG Test Results", "variables": variables}}}


def test_a_value_level_codelist_answers_for_its_test_only():
    # NORMAL and ABNORMAL are NORMABNM terms, not EGSTRESC's; the define lists them for INTP
    declared = [{"where": "EGTESTCD", "values": ["INTP"], "terms": ["ABNORMAL", "NORMAL"]}]
    found = _found("TB0018", _eg(declared))
    assert found == [("EG", 2, "EGSTRESC", "BORDERLINE"), ("EG", 3, "EGSTRESC", "NORMAL")]


def test_a_value_outside_its_tests_define_codelist_is_tb0054():
    declared = [{"where": "EGTESTCD", "values": ["INTP"], "terms": ["ABNORMAL", "NORMAL"]}]
    assert _found("TB0054", _eg(declared)) == [("EG", 2, "EGSTRESC", "BORDERLINE")]
