"""The shipped SDTMIG 3.4 tables, the SDTM class variables and sponsor-defined domains."""

import pytest

from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.metadata import (
    check_version,
    custom_domain,
    general_classes,
    shipped_versions,
    standard_domains,
)


def test_every_sdtmig_3_4_dataset_is_described():
    # SDTMIG v3.4 defines 63 datasets with 1,917 variables (CDISC Library export)
    domains = standard_domains("3.4")
    assert len(domains) == 63
    assert sum(len(d.variables) for d in domains.values()) == 1917
    assert {"EC", "MH", "IE", "EG", "PE", "PR", "FA", "RS", "CE", "DV", "HO", "SU"} <= set(domains)
    assert domains["EC"].label == "Exposure as Collected"
    assert domains["FA"].dataset_class == "Findings About"
    assert domains["OI"].dataset_class == "Study Reference"


# (domain, variable): label, type, core, as the SDTMIG v3.4 domain tables give them
IG_ROWS = {
    ("EC", "ECTRT"): ("Name of Treatment", "Char", "Req"),
    ("EC", "ECDOSE"): ("Dose", "Num", "Exp"),
    ("MH", "MHTERM"): ("Reported Term for the Medical History", "Char", "Req"),
    ("MH", "MHDECOD"): ("Dictionary-Derived Term", "Char", "Perm"),
    ("IE", "IETESTCD"): ("Inclusion/Exclusion Criterion Short Name", "Char", "Req"),
    ("IE", "IEORRES"): ("I/E Criterion Original Result", "Char", "Req"),
    ("EG", "EGTESTCD"): ("ECG Test or Examination Short Name", "Char", "Req"),
    ("PE", "PEORRES"): ("Verbatim Examination Finding", "Char", "Exp"),
    ("PR", "PRTRT"): ("Reported Name of Procedure", "Char", "Req"),
    ("FA", "FAOBJ"): ("Object of the Observation", "Char", "Req"),
    ("RS", "RSTESTCD"): ("Assessment Short Name", "Char", "Req"),
    ("CE", "CETERM"): ("Reported Term for the Clinical Event", "Char", "Req"),
    ("DV", "DVTERM"): ("Protocol Deviation Term", "Char", "Req"),
    ("HO", "HOTERM"): ("Healthcare Encounter Term", "Char", "Req"),
    ("SU", "SUTRT"): ("Reported Name of Substance", "Char", "Req"),
}


@pytest.mark.parametrize(("key", "expected"), IG_ROWS.items())
def test_rows_match_the_sdtmig_text(key: tuple[str, str], expected: tuple[str, str, str]):
    variable = standard_domains()[key[0]].variable(key[1])
    assert variable is not None
    assert (variable.label, variable.type, variable.core) == expected


def test_dates_and_codelists_carry_their_format_and_short_name():
    ec = standard_domains()["EC"]
    assert ec.variable("ECSTDTC").format == "ISO8601 datetime"
    assert ec.variable("ECDUR").format == "ISO8601 duration"
    assert ec.variable("ECMOOD").codelist == "BRDGMOOD"
    assert standard_domains()["AE"].variable("AEPTCD").format == "MedDRA"
    assert standard_domains()["IE"].variable("IEORRES").codelist == "NY"


def test_every_codelist_the_metadata_names_is_in_the_shipped_ct():
    ct = shipped_terminology()
    named = {v.codelist for d in standard_domains().values() for v in d.variables}
    for dataset_class in general_classes():
        named |= {v.codelist for v in custom_domain("XB", dataset_class, "x").variables}
    missing = sorted(c for c in named - {None} if ct.get(c) is None)
    assert missing == []


def test_a_sponsor_defined_findings_domain_gets_the_class_variables_in_sdtm_order():
    xb = custom_domain("XB", "Findings", "Bespoke Scores")
    names = [v.name for v in xb.variables]
    # identifiers, then topic and qualifiers, then timing (SDTMIG 3.4 section 4.1.4)
    assert names[:3] == ["STUDYID", "DOMAIN", "USUBJID"]
    assert names.index("XBSEQ") < names.index("XBTESTCD") < names.index("XBORRES")
    assert names.index("XBSTRESN") < names.index("VISITNUM") < names.index("XBDTC")
    assert names.index("XBDTC") < names.index("XBDY")
    assert "XBSTDTC" not in names  # not in Findings class domains (SDTM v2.0)
    assert "XBNOMDY" not in names  # nonclinical only
    assert {v.name for v in xb.variables if v.core == "Req"} == {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "XBSEQ",
        "XBTESTCD",
        "XBTEST",
    }
    assert xb.variable("XBSTRESU").codelist == "UNIT"
    assert xb.variable("EPOCH").codelist == "EPOCH"
    assert xb.keys == ("STUDYID", "USUBJID", "XBTESTCD", "VISITNUM", "XBTPTREF", "XBTPTNUM")
    assert xb.sponsor_defined


def test_events_interventions_and_findings_about_have_their_topics():
    events = custom_domain("YE", "Events", "e", keys=("STUDYID", "USUBJID", "YETERM"))
    assert events.variable("YETERM").role == "Topic"
    assert events.variable("YESTDTC").format == "ISO8601 datetime"
    assert events.keys == ("STUDYID", "USUBJID", "YETERM")
    assert custom_domain("ZI", "Interventions", "i").variable("ZITRT").core == "Req"
    about = [v.name for v in custom_domain("XF", "Findings About", "f").variables]
    assert about[about.index("XFTEST") + 1] == "XFOBJ"


def test_only_shipped_versions_are_accepted():
    assert shipped_versions() == ("3.4",)
    assert check_version("3.4") == "3.4"
    with pytest.raises(ValueError) as err:
        check_version("3.3")
    assert str(err.value) == (
        "SDTMIG 3.3 is not shipped (shipped: 3.4); another version needs its tables in "
        "trialbridge/sdtm/standards/sdtmig-3.3/ (scripts/build_sdtmig.py builds them from a "
        "CDISC Library export)"
    )
