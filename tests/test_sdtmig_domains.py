"""Any SDTMIG 3.4 dataset, and a sponsor-defined domain, through the generic path: mapped,
derived, written (XPT, define.xml) and validated; and the errors a domain code can raise."""

from __future__ import annotations

import json
from pathlib import Path

import pyreadstat
import pytest
from lxml import etree

from tests.helpers import copy_study, fails_with, replace_in, run_cli
from trialbridge.sdtm import define_xml

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
DOMAINS = "vs.yaml]"
VISITS = "{SCR: SCREENING, D1: DAY 1, M1: MONTH 1, M3: MONTH 3, M6: MONTH 6}"

XB = f"""domain: XB
class: Findings
label: Bespoke Scores
sources:
  - source: edss
    subject: Subject No.
    variables:
      XBTESTCD: {{constant: BSCORE}}
      XBTEST: {{constant: Bespoke Score}}
      XBORRES: {{copy: EDSS score}}
      VISIT: {{recode: {{column: Visit, map: {VISITS}}}}}
      XBDTC: {{date: {{column: Assessment date, format: dd/mm/yyyy}}}}
"""


def add_specs(study: Path, specs: dict[str, str], sources: dict[str, str]) -> None:
    """Spec files under mappings/ and raw CSVs under raw/, named in study.yaml."""
    for name, text in specs.items():
        (study / "mappings" / name).write_text(text)
    for name, text in sources.items():
        (study / "raw" / f"{name}.csv").write_text(text)
    listed = "".join(f"\n  - {{name: {n}, file: raw/{n}.csv}}" for n in sources)
    replace_in(study / "study.yaml", "\ndomains:", f"{listed}\n\ndomains:")
    replace_in(study / "study.yaml", DOMAINS, "vs.yaml, " + ", ".join(specs) + "]")


def convert(study: Path, out: Path) -> Path:
    result = run_cli("convert", study, "--out", out)
    assert result.exit_code == 0, result.output
    assert define_xml.validate((out / "sdtm" / "define.xml").read_bytes()) == []
    return out / "sdtm"


def group(sdtm: Path, name: str) -> etree._Element:
    root = etree.parse(str(sdtm / "define.xml")).getroot()
    return root.find(f".//odm:ItemGroupDef[@Name='{name}']", NS)


def test_a_sponsor_defined_findings_domain_converts_with_derived_class_variables(
    tmp_path: Path,
):
    study = copy_study(tmp_path)
    add_specs(study, {"xb.yaml": XB}, {})
    sdtm = convert(study, tmp_path / "out")
    frame, meta = pyreadstat.read_xport(str(sdtm / "xb.xpt"))
    # SDTM order: identifiers, topic, qualifiers, timing; SEQ, STRESC/N, VISITNUM, EPOCH
    # and DY derived as for any findings domain
    assert list(frame.columns) == [
        "STUDYID", "DOMAIN", "USUBJID", "XBSEQ", "XBTESTCD", "XBTEST", "XBORRES",
        "XBSTRESC", "XBSTRESN", "VISITNUM", "VISIT", "EPOCH", "XBDTC", "XBDY",
    ]  # fmt: skip
    assert meta.file_label == "Bespoke Scores"
    first = frame.iloc[0]
    # subject 001: EDSS on 12/06/2021 at screening, first infusion on 21/06/2021 -> day -9
    assert (first["USUBJID"], first["XBSEQ"], first["VISITNUM"]) == ("PLMSC-SPMS-01-001", 1, 1)
    assert (first["EPOCH"], first["XBDY"], first["XBSTRESN"]) == ("SCREENING", -9, 6.5)
    xb = group(sdtm, "XB")
    assert xb.get(f"{{{NS['def']}}}IsNonStandard") == "Yes"
    assert xb.get(f"{{{NS['def']}}}StandardOID") is None
    assert xb.find("def:Class", NS).get("Name") == "FINDINGS"
    result = run_cli("validate", sdtm, "--out", tmp_path / "report")
    assert result.exit_code == 0, result.output


EC = """domain: EC
sources:
  - source: ec_raw
    subject: Subject No.
    variables:
      ECTRT: {constant: PLACENTA-DERIVED MESENCHYMAL STEM CELLS}
      ECMOOD: {constant: PERFORMED}
      ECDOSE: {copy: Dose}
      ECDOSU: {constant: mg}
      ECROUTE: {constant: INTRAVENOUS}
      ECSTDTC: {date: {column: Date, format: dd/mm/yyyy}}
      ECENDTC: {date: {column: Date, format: dd/mm/yyyy}}
"""
MH = """domain: MH
sources:
  - source: mh_raw
    subject: Subject No.
    variables:
      MHTERM: {copy: Condition}
      MHCAT: {constant: GENERAL MEDICAL HISTORY}
      MHSTDTC: {date: {column: Onset, format: yyyy-mm-dd}}
"""
IE = """domain: IE
sources:
  - source: ie_raw
    subject: Subject No.
    variables:
      IETESTCD: {copy: Criterion}
      IETEST: {copy: Text}
      IECAT: {copy: Category}
      IEORRES: {copy: Met}
      IEDTC: {date: {column: Date, format: dd/mm/yyyy}}
"""
EG = f"""domain: EG
sources:
  - source: eg_raw
    subject: Subject No.
    variables:
      EGTESTCD: {{constant: EGHRMN}}
      EGTEST: {{constant: ECG Mean Heart Rate}}
      EGORRES: {{copy: HR}}
      EGORRESU: {{constant: beats/min}}
      VISIT: {{recode: {{column: Visit, map: {VISITS}}}}}
      EGDTC: {{date: {{column: Date, format: dd/mm/yyyy}}}}
"""
PE = f"""domain: PE
sources:
  - source: pe_raw
    subject: Subject No.
    variables:
      PETESTCD: {{constant: HEART}}
      PETEST: {{constant: Heart}}
      PEORRES: {{copy: Finding}}
      VISIT: {{recode: {{column: Visit, map: {VISITS}}}}}
      PEDTC: {{date: {{column: Date, format: dd/mm/yyyy}}}}
"""
PR = """domain: PR
sources:
  - source: pr_raw
    subject: Subject No.
    variables:
      PRTRT: {copy: Procedure}
      PRSTDTC: {date: {column: Date, format: dd/mm/yyyy}}
"""
RAW = {
    "ec_raw": "Subject No.,Date,Dose\n001,21/06/2021,1\n002,22/06/2021,1\n",
    "mh_raw": "Subject No.,Condition,Onset\n001,Hypertension,2015-03\n002,Asthma,2009\n",
    "ie_raw": (
        "Subject No.,Criterion,Text,Category,Met,Date\n"
        "002,INCL03,Currently treated with rituximab,INCLUSION,N,14/06/2021\n"
    ),
    "eg_raw": "Subject No.,Visit,Date,HR\n001,SCR,12/06/2021,71\n002,D1,22/06/2021,66\n",
    "pe_raw": "Subject No.,Visit,Date,Finding\n001,SCR,12/06/2021,NORMAL\n",
    "pr_raw": "Subject No.,Procedure,Date\n001,LUMBAR PUNCTURE,12/06/2021\n",
}


def test_ec_mh_ie_eg_pe_and_pr_map_build_and_validate(tmp_path: Path):
    study = copy_study(tmp_path)
    specs = {"ec.yaml": EC, "mh.yaml": MH, "ie.yaml": IE, "eg.yaml": EG, "pe.yaml": PE}
    add_specs(study, {**specs, "pr.yaml": PR}, RAW)
    sdtm = convert(study, tmp_path / "out")
    for name, rows in {"ec": 2, "mh": 2, "ie": 1, "eg": 2, "pe": 1, "pr": 1}.items():
        frame, _ = pyreadstat.read_xport(str(sdtm / f"{name}.xpt"))
        assert len(frame) == rows, name
        assert group(sdtm, name.upper()).get(f"{{{NS['def']}}}StandardOID") == "STD.SDTMIG"
    ec, _ = pyreadstat.read_xport(str(sdtm / "ec.xpt"))
    # 21/06/2021 is subject 001's first infusion: study day 1, treatment epoch
    assert (ec.loc[0, "ECSTDY"], ec.loc[0, "EPOCH"], ec.loc[0, "ECSEQ"]) == (1, "TREATMENT", 1)
    mh, _ = pyreadstat.read_xport(str(sdtm / "mh.xpt"))
    assert list(mh["MHSTDTC"]) == ["2015-03", "2009"]
    classes = {n: group(sdtm, n).find("def:Class", NS).get("Name") for n in ("EC", "MH", "IE")}
    assert classes == {"EC": "INTERVENTIONS", "MH": "EVENTS", "IE": "FINDINGS"}
    result = run_cli("validate", sdtm, "--out", tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert "Reject" not in result.output and " Error " not in result.output, result.output
    report = json.loads((tmp_path / "out" / "validation" / "validation.json").read_text())
    assert [
        f for f in report["findings"] if f["dataset"] in ("EC", "MH", "IE", "EG", "PE", "PR")
    ] == []


def with_xb(tmp_path: Path, old: str, new: str) -> Path:
    study = copy_study(tmp_path)
    add_specs(study, {"xb.yaml": XB}, {})
    replace_in(study / "mappings" / "xb.yaml", old, new)
    return study


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "domain: XB\nclass: Findings\n",
            "domain: EQ\n",
            "mappings/xb.yaml:1: no SDTMIG 3.4 dataset 'EQ'; for a sponsor-defined domain add "
            "'class:' (Findings, Events, Interventions, Findings About) and 'label:', or fix "
            "the code (close: EC, EG, EX)",
        ),
        (
            "label: Bespoke Scores\n",
            "",
            "mappings/xb.yaml:2: sponsor-defined domain XB has no 'label'; add 'label:' (up to "
            "40 characters), the dataset label define.xml and XPT carry",
        ),
        (
            "domain: XB",
            "domain: DX",
            "mappings/xb.yaml:1: 'DX' is a CDISC domain abbreviation (CT codelist DOMAIN) that "
            "SDTMIG 3.4 has no table for; give the sponsor-defined domain a code CDISC does not "
            "use (X, Y and Z first letters are reserved for sponsors)",
        ),
        (
            "domain: XB",
            "domain: CE",
            "mappings/xb.yaml:2: CE is the SDTMIG 3.4 dataset 'Clinical Events' of class "
            "Events, not Findings; drop 'class:', or give a sponsor-defined domain a code of "
            "its own (e.g. XE)",
        ),
        (
            "domain: XB\nclass: Findings\n",
            "domain: EG\nclass: Findings\n",
            "mappings/xb.yaml:3: 'label' is only for sponsor-defined domains; EG takes the "
            "SDTMIG 3.4 one; remove 'label:'",
        ),
        (
            "label: Bespoke Scores\n",
            "label: Bespoke Scores\nkeys: [STUDYID, USUBJID, XBTERM]\n",
            "mappings/xb.yaml:4: key XBTERM is not a variable of XB (Findings); name variables "
            "of the domain, e.g. XBTESTCD",
        ),
        (
            "class: Findings",
            "class: Special-Purpose",
            "mappings/xb.yaml:2: class: Input should be 'Findings', 'Events', 'Interventions' "
            "or 'Findings About'; see docs/mapping-language.md",
        ),
    ],
)
def test_domain_code_errors(tmp_path: Path, old: str, new: str, expected: str):
    fails_with(with_xb(tmp_path, old, new), tmp_path, expected)


def test_an_sdtmig_version_that_is_not_shipped(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(study / "study.yaml", "\nsources:", '\nsdtmig_version: "3.3"\n\nsources:')
    text = (study / "study.yaml").read_text().splitlines()
    line = text.index('sdtmig_version: "3.3"') + 1
    fails_with(
        study,
        tmp_path,
        f"study.yaml:{line}: sdtmig_version: SDTMIG 3.3 is not shipped (shipped: 3.4); another "
        "version needs its tables in trialbridge/sdtm/standards/sdtmig-3.3/ "
        "(scripts/build_sdtmig.py builds them from a CDISC Library export); "
        "see docs/mapping-language.md",
    )
