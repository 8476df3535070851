"""IE keeps the exceptions: which answers leave, and that each kind leaving is counted."""

from tests.helpers import mapped
from trialbridge.sdtm.derivations.eligibility import exceptions


def test_met_and_unanswered_criteria_leave_counted_apart_other_answers_stay():
    ie = mapped(
        "IE",
        [
            {"USUBJID": "S-1", "IECAT": "INCLUSION", "IEORRES": "Y"},  # as wanted
            {"USUBJID": "S-1", "IECAT": "INCLUSION", "IEORRES": "N"},  # exception
            {"USUBJID": "S-1", "IECAT": "EXCLUSION", "IEORRES": "n"},  # as wanted
            {"USUBJID": "S-1", "IECAT": "EXCLUSION", "IEORRES": "Y"},  # exception
            {"USUBJID": "S-1", "IECAT": "EXCLUSION", "IEORRES": None},  # unanswered
            {"USUBJID": "S-1", "IECAT": "INCLUSION", "IEORRES": " "},  # unanswered
            {"USUBJID": "S-1", "IECAT": "INCLUSION", "IEORRES": "UNK"},  # for validation
        ],
    )
    answers = exceptions(ie)
    assert answers.kept.tolist() == [False, True, False, True, False, False, True]
    assert (answers.as_wanted, answers.unanswered) == (2, 2)
