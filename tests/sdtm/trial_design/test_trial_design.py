"""TS, TA, TE, TV, TI from study.yaml, and SE / SV from subjects' data, worked by hand."""

import pandas as pd
import pytest

from tests.helpers import STUDY, plmsc_study
from trialbridge.errors import UserError
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.dataset import finalize
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.sdtm.trial_design import arms, subject_elements, subject_visits, ts
from trialbridge.study import StudyFolder, load_study

DM = finalize(
    "DM",
    domain_meta("DM"),
    pd.DataFrame(
        {
            "STUDYID": ["S", "S"],
            "DOMAIN": ["DM", "DM"],
            "USUBJID": ["S-1", "S-2"],
            "RFICDTC": ["2021-06-13", "2021-06-11"],
            "RFSTDTC": ["2021-06-21T10:15", "2021-06-24T11:05"],
            "RFXSTDTC": ["2021-06-21T10:15", "2021-06-24T11:05"],
            "RFXENDTC": ["2021-06-21T10:45", "2021-06-24T11:35"],
            "RFPENDTC": ["2021-12-16", "2022-01-02T09:00"],
            "ARMCD": ["PLMSC", "PLMSC"],
            "ACTARMCD": ["PLMSC", "PLMSC"],
        }
    ),
)


def folder() -> StudyFolder:
    return load_study(STUDY)


def test_ts_derived_parameters_and_coding():
    frame = ts.build(folder(), DM, shipped_terminology()).frame
    by_parm = frame.groupby("TSPARMCD")
    assert by_parm.get_group("SSTDTC")["TSVAL"].tolist() == ["2021-06-11"]  # earliest consent
    assert by_parm.get_group("SENDTC")["TSVAL"].tolist() == ["2022-01-02"]
    assert by_parm.get_group("ACTSUB")["TSVAL"].tolist() == ["2"]
    regid = by_parm.get_group("REGID")
    assert regid[["TSSEQ", "TSVAL", "TSVCDREF"]].values.tolist() == [
        [1.0, "NCT06360861", "ClinicalTrials.gov"],
        [2.0, "IRCT20210614051576N1", "IRCT"],
    ]
    tphase = by_parm.get_group("TPHASE").iloc[0]
    assert (tphase["TSPARM"], tphase["TSVALCD"], tphase["TSVCDREF"], tphase["TSVCDVER"]) == (
        "Trial Phase Classification",
        "C15600",
        "CDISC CT",
        "2025-03-28",
    )
    indic = by_parm.get_group("INDIC").iloc[0]
    assert (indic["TSVALCD"], indic["TSVCDREF"]) == ("425500002", "SNOMED")
    assert by_parm.get_group("AGEMIN")["TSVCDREF"].tolist() == ["ISO 8601"]


def test_ts_value_outside_a_non_extensible_codelist(tmp_path):
    base = folder()
    params = [*base.study.trial_summary]
    bad = params[2].model_copy(update={"value": "OBSERVATIONAL STUDY"})  # STYPE
    study = base.study.model_copy(update={"trial_summary": [params[0], params[1], bad]})
    broken = StudyFolder(root=base.root, study=study, lines=base.lines)
    with pytest.raises(
        UserError, match=r"TS STYPE value 'OBSERVATIONAL STUDY' is not in codelist STYPE"
    ):
        ts.build(broken, DM, shipped_terminology())


def test_ts_unknown_parameter_code():
    base = folder()
    extra = base.study.trial_summary[0].model_copy(update={"parm": "XYZ"})
    study = base.study.model_copy(update={"trial_summary": [extra]})
    broken = StudyFolder(root=base.root, study=study, lines=base.lines)
    with pytest.raises(UserError, match="TS parameter 'XYZ' is not in CDISC CT TSPARMCD"):
        ts.build(broken, DM, shipped_terminology())


def test_ta_te_tv_ti_from_the_study_definition():
    study = plmsc_study()
    ta = arms.trial_arms(study).frame
    assert ta[["TAETORD", "ETCD", "EPOCH"]].values.tolist() == [
        [1.0, "SCRN", "SCREENING"],
        [2.0, "PLMSC", "TREATMENT"],
        [3.0, "FU", "FOLLOW-UP"],
    ]
    te = arms.trial_elements(study).frame
    assert te["TESTRL"].tolist()[0] == "Informed consent"
    tv = arms.trial_visits(study).frame
    assert tv["TVSTRL"].tolist()[:2] == ["Study day -9 (window day -14 to day -1)", "Study day 1"]
    ti = arms.trial_criteria(study).frame
    assert ti["IECAT"].value_counts().to_dict() == {"EXCLUSION": 9, "INCLUSION": 4}


def test_se_elements_end_where_the_next_starts():
    se = subject_elements.build(plmsc_study(), DM).frame
    one = se[se["USUBJID"] == "S-1"]
    assert one[["ETCD", "SESTDTC", "SEENDTC", "SESTDY", "SEENDY"]].values.tolist() == [
        ["SCRN", "2021-06-13", "2021-06-21T10:15", -8.0, 1.0],
        ["PLMSC", "2021-06-21T10:15", "2021-06-22", 1.0, 2.0],
        ["FU", "2021-06-22", "2021-12-16", 2.0, 179.0],
    ]
    assert se["SESEQ"].tolist() == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]


def test_sv_first_and_last_dates_per_visit_across_domains():
    lb = finalize(
        "LB",
        domain_meta("LB"),
        pd.DataFrame(
            {
                "STUDYID": "S",
                "DOMAIN": "LB",
                "USUBJID": ["S-1", "S-1", "S-1"],
                "LBSEQ": [1.0, 2.0, 3.0],
                "LBTESTCD": ["HGB"] * 3,
                "VISITNUM": [1.0, 3.0, 3.01],
                "VISIT": ["SCREENING", "MONTH 1", "UNSCHEDULED 3.01"],
                "LBDTC": ["2021-06-12T08:30", "2021-07-19T08:30", "2021-08-12"],
            }
        ),
    )
    vs = finalize(
        "VS",
        domain_meta("VS"),
        pd.DataFrame(
            {
                "STUDYID": "S",
                "DOMAIN": "VS",
                "USUBJID": ["S-1", "S-1"],
                "VSSEQ": [1.0, 2.0],
                "VSTESTCD": ["PULSE"] * 2,
                "VISITNUM": [1.0, 3.0],
                "VISIT": ["SCREENING", "MONTH 1"],
                "VSDTC": ["2021-06-11", "2021-07"],  # a partial date does not count
            }
        ),
    )
    sv = subject_visits.build(plmsc_study(), DM, {"LB": lb, "VS": vs}).frame
    got = sv[["VISITNUM", "SVSTDTC", "SVENDTC", "SVPRESP", "SVUPDES"]].fillna("")
    assert got.values.tolist() == [
        [1.0, "2021-06-11", "2021-06-12T08:30", "Y", ""],
        [3.0, "2021-07-19T08:30", "2021-07-19T08:30", "Y", ""],
        [3.01, "2021-08-12", "2021-08-12", "", "Unscheduled: LB"],
    ]
    assert sv["SVSTDY"].tolist() == [-10.0, 29.0, 53.0]
