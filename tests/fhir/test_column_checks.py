"""The column validator on what the build rendered from deliberately broken SDTM: each problem
is reported for exactly the records that have it, and agrees with the one-by-one validator."""

from dataclasses import replace

import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.checks import validate
from trialbridge.sdtm.read import read_folder


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out)
    return read_folder(out / "sdtm")


def both(datasets) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(column validator findings, one-by-one validator findings on the same resources)."""
    result = assemble(datasets)
    fast = sorted((f.resource, f.rule, f.record) for f in result.findings())
    slow = sorted((f.resource, f.rule, f.record) for f in validate(result.resources()))
    return fast, slow


def test_the_study_as_built_has_no_findings(datasets):
    fast, slow = both(datasets)
    assert fast == slow == []


def test_a_period_ending_before_it_starts(datasets):
    cm = datasets["CM"]
    frame = cm.frame.copy()
    frame.loc[1, ["CMSTDTC", "CMENDTC"]] = ["2021-07-02", "2021-07-01"]
    changed = {**datasets, "CM": replace(cm, frame=frame)}
    fast, slow = both(changed)
    assert [(rule, record) for _, rule, record in fast] == [("per-1", "SDTM CM")]
    assert [rule for _, rule, _ in slow] == ["per-1"]


@pytest.mark.parametrize(
    ("start", "end", "rules"),
    [
        ("2021-07-02T10:00", "2021-07-01", ["per-1"]),  # a date-time after a day's date
        ("2021-07-01T10:00", "2021-07-01", []),  # the same day: not out of order
        ("2021-07-01T10:00", "2021-07-01T09:59", ["per-1"]),  # alike: compared as text
        ("2021-07", "2021-06-30", ["per-1"]),  # a month after a date
    ],
)
def test_a_period_written_two_ways_is_judged_as_fhirpath_judges_it(datasets, start, end, rules):
    """Values written differently go to FHIRPath (toDateTime), the others compare as text;
    both agree with the one-by-one validator. With a zone, date-times keep their time."""
    cm = datasets["CM"]
    frame = cm.frame.copy()
    frame.loc[1, ["CMSTDTC", "CMENDTC"]] = [start, end]
    result = assemble({**datasets, "CM": replace(cm, frame=frame)}, {"*": "Asia/Tehran"})
    fast = [f.rule for f in result.findings()]
    slow = [f.rule for f in validate(result.resources())]
    assert fast == slow == rules


def test_a_value_and_a_reason_not_done_on_one_record(datasets):
    lb = datasets["LB"]
    frame = lb.frame.copy()
    frame.loc[[4, 9], "LBREASND"] = "SAMPLE LOST"  # both rows still carry LBSTRESN
    changed = {**datasets, "LB": replace(lb, frame=frame)}
    fast, slow = both(changed)
    assert fast == slow
    assert [rule for _, rule, _ in fast] == ["obs-6", "obs-6"]


def test_a_subject_missing_from_dm_is_a_dangling_reference(datasets):
    vs = datasets["VS"]
    frame = vs.frame.copy()
    frame.loc[0, "USUBJID"] = "PLMSC-SPMS-01-999"
    changed = {**datasets, "VS": replace(vs, frame=frame)}
    fast, slow = both(changed)
    assert [rule for _, rule, _ in fast] == [rule for _, rule, _ in slow] == ["reference"]
    (finding,) = assemble(changed).findings()
    assert finding.message == "Observation.subject.reference does not resolve in this output"


def test_a_blank_text_value_is_missing_not_an_empty_element(datasets):
    """SDTM (XPT) cannot tell blank from missing: a blank is left out, never written as ""."""
    ae = datasets["AE"]
    frame = ae.frame.copy()
    frame.loc[0, "AETERM"] = "  "
    changed = {**datasets, "AE": replace(ae, frame=frame)}
    fast, slow = both(changed)
    assert fast == slow == []
    event = assemble(changed).resources()[0]
    assert event["resourceType"] == "AdverseEvent" and "text" not in event["event"]


def test_every_record_of_a_broken_shape_is_reported(datasets):
    """Findings found on one resource of a shape hold for all records of that shape."""
    lb = datasets["LB"]
    frame = lb.frame.copy()
    frame["LBREASND"] = "NOT COLLECTED"  # every record now has value and reason
    changed = {**datasets, "LB": replace(lb, frame=frame)}
    fast, slow = both(changed)
    assert fast == slow
    assert len(fast) == len(frame) == 213
