"""SUPP-- and RELREC find their parents by --SEQ written as IDVARVAL text: a sequence number
of seven digits is "1234567", not "1.23457e+06"."""

from trialbridge.conformance import engine, fixtures
from trialbridge.conformance.rule import shipped_rules
from trialbridge.sdtm.ct import shipped_terminology


def test_large_sequence_numbers_find_their_parent():
    rules = tuple(r for r in shipped_rules() if r.id in ("TB0030", "TB0148"))
    spec = {
        "AE": {"USUBJID": ["S-1"], "AESEQ": [1234567]},
        "CM": {"USUBJID": ["S-1"], "CMSEQ": [7654321]},
        "SUPPAE": {
            "RDOMAIN": ["AE"],
            "USUBJID": ["S-1"],
            "IDVAR": ["AESEQ"],
            "IDVARVAL": ["1234567"],
            "QNAM": ["AEINFRL"],
        },
        "RELREC": {
            "RDOMAIN": ["AE", "CM"],
            "USUBJID": ["S-1", "S-1"],
            "IDVAR": ["AESEQ", "CMSEQ"],
            "IDVARVAL": ["1234567", "7654321"],
            "RELID": ["1", "1"],
        },
    }
    assert engine.run(fixtures.datasets(spec), shipped_terminology(), rules) == []
