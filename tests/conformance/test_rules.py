"""Every shipped rule against its own fixtures: the negative one is reported with that rule's
id, the positive one is clean."""

import pytest

from trialbridge.conformance import engine, fixtures
from trialbridge.conformance.rule import shipped_rules
from trialbridge.sdtm.ct import shipped_terminology

RULES = shipped_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_negative_fixture_is_reported_where_it_pins(rule):
    found = _run(rule, rule.fixtures.negative)
    assert found and {f.rule for f in found} == {rule.id}
    assert rule.fixtures.expect, "the negative fixture pins no finding (fixtures.expect)"
    assert _places(found) == _pinned(rule.fixtures.expect)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_further_case_gives_exactly_its_findings(rule):
    for case in rule.fixtures.cases:
        found = _run(rule, case.data)
        assert _places(found) == _pinned(case.expect), case.note


def _places(found) -> list[tuple[str, int | None, str]]:
    return sorted({(f.dataset, f.record, f.variable) for f in found}, key=str)


def _pinned(expect) -> list[tuple[str, int | None, str]]:
    return sorted({(e.dataset, e.record, e.variable) for e in expect}, key=str)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_positive_fixture_is_clean(rule):
    found = _run(rule, rule.fixtures.positive)
    assert found == []


def _run(rule, spec):
    datasets, define = fixtures.datasets(spec), fixtures.define(spec)
    return engine.run(datasets, shipped_terminology(), (rule,), define)


def test_every_rule_cites_an_id_of_the_same_check_or_says_why_none():
    bare = [
        r.id
        for r in RULES
        if not (r.references.p21 or r.references.core or r.references.cdisc or r.references.fda)
        and not r.references.none_because.strip()
    ]
    assert bare == []


def test_rule_ids_are_unique_and_match_their_files():
    from tests.helpers import ROOT

    files = sorted(p.stem for p in (ROOT / "trialbridge" / "sdtm" / "rules").glob("*.yaml"))
    assert [r.id for r in RULES] == files
    assert len(files) >= 100


def test_the_rules_doc_is_current():
    from tests.helpers import ROOT
    from trialbridge.conformance.docs import render

    assert (ROOT / "docs" / "rules.md").read_text() == render(), (
        "run: trialbridge rules > docs/rules.md"
    )
