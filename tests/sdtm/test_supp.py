"""SUPP--: one record per non-missing declared non-standard value, keyed by --SEQ."""

from tests.helpers import mapped
from trialbridge.sdtm import supp


def test_supp_records_from_declared_variables():
    ae = mapped(
        "AE",
        [
            {"STUDYID": "S", "USUBJID": "S-2", "AESEQ": 1.0, "AEINFRL": "Y", "AEXTRA": None},
            {"STUDYID": "S", "USUBJID": "S-1", "AESEQ": 2.0, "AEINFRL": None, "AEXTRA": "b"},
            {"STUDYID": "S", "USUBJID": "S-1", "AESEQ": 1.0, "AEINFRL": "N", "AEXTRA": "a"},
        ],
        supplemental={
            "AEINFRL": {"label": "Infusion Related Reaction"},
            "AEXTRA": {"label": "Extra", "origin": "Assigned", "evaluator": "INVESTIGATOR"},
        },
    )
    dataset = supp.split(ae)
    assert dataset is not None and dataset.name == "SUPPAE"
    assert dataset.label == "Supplemental Qualifiers for AE"
    got = dataset.frame[["USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QVAL", "QORIG", "QEVAL"]]
    assert got.fillna("").values.tolist() == [
        ["S-1", "AESEQ", "1", "AEINFRL", "N", "Collected", ""],
        ["S-1", "AESEQ", "1", "AEXTRA", "a", "Assigned", "INVESTIGATOR"],
        ["S-1", "AESEQ", "2", "AEXTRA", "b", "Assigned", "INVESTIGATOR"],
        ["S-2", "AESEQ", "1", "AEINFRL", "Y", "Collected", ""],
    ]
    assert set(dataset.frame["RDOMAIN"]) == {"AE"}


def test_no_declarations_no_supp():
    assert supp.split(mapped("AE", [{"USUBJID": "S-1", "AESEQ": 1.0}])) is None
