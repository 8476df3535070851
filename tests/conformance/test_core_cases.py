"""trialbridge against CDISC CORE's own published test cases for the CORE ids its rules cite:
at least 95% agreement, every disagreement explained (a CORE defect, or a difference of
reading the SDTMIG that trialbridge keeps on purpose), and docs/core-agreement.md current."""

from tests.conformance.core_agreement import citing, explained, files, outcomes, render
from tests.helpers import ROOT

DOC = ROOT / "docs" / "core-agreement.md"


def test_every_cited_core_id_has_its_cases():
    assert sorted(citing()) == sorted(set(citing()) & set(files()))


def test_at_least_95_percent_of_cores_cases_agree():
    judged = outcomes()
    agreed = sum(o.agrees for o in judged)
    assert len(judged) >= 100
    assert agreed / len(judged) >= 0.95, f"{agreed} of {len(judged)}"


def test_every_disagreement_is_explained_and_every_explanation_is_still_one():
    differ = {(o.core, o.case): o.difference() for o in outcomes() if not o.agrees}
    why = explained()
    assert set(differ) - set(why) == set(), {k: differ[k] for k in set(differ) - set(why)}
    assert set(why) - set(differ) == set(), "now agree: drop them from disagreements.yaml"


def test_the_agreement_doc_is_current(request):
    if request.config.getoption("--update-golden"):
        DOC.write_text(render())
    assert DOC.read_text() == render(), (
        "run: pytest tests/conformance/test_core_cases.py --update-golden"
    )
