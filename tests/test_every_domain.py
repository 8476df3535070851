"""Every general-observation-class dataset of SDTMIG 3.4 (Findings, Findings About, Events,
Interventions: 46 with EX) goes through the generic path: a copy of the bundled study maps
each from one small form, with its Required variables and a date; convert writes them all,
define.xml is XSD-valid, and the validator finds no error but the two the data itself
makes. The constants come from the shipped CT (a test code and its test name share their
NCI code), not from trialbridge's output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyreadstat

from tests.helpers import STUDY, run_cli
from trialbridge.sdtm import define_xml
from trialbridge.sdtm.ct import Codelist, shipped_terminology
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, standard_domains

GENERAL = ("Findings", "Findings About", "Events", "Interventions")
SET_BY_TRIALBRIDGE = {"STUDYID", "DOMAIN", "USUBJID"}
FORM = "Subject No.,Date\n" + "".join(f"00{i},0{i}/07/2021\n" for i in range(1, 6))


def _constant(var: VariableMeta, meta: DomainMeta, ct: dict[str, Codelist]) -> str:
    """A valid value: 1 for numbers, the first term of the variable's codelist (a test name:
    the term with its test code's NCI code), else X."""
    if var.type == "Num":
        return "'1'"
    codelist = ct.get(var.codelist) if var.codelist else None
    if codelist is None or not codelist.terms:
        return "X"
    paired = meta.variable(var.name + "CD") if var.name.endswith("TEST") else None
    if paired is not None and paired.codelist and paired.codelist in ct:
        first = ct[paired.codelist].terms[sorted(ct[paired.codelist].terms)[0]]
        return repr(next(t for t, code in codelist.terms.items() if code == first))
    return repr(sorted(codelist.terms)[0])


def _spec(code: str, meta: DomainMeta, ct: dict[str, Codelist]) -> str:
    variables = {
        v.name: f"{{constant: {_constant(v, meta, ct)}}}"
        for v in meta.variables
        if v.core == "Req" and v.name not in SET_BY_TRIALBRIDGE and v.name != f"{code}SEQ"
    }
    date = next(code + s for s in ("DTC", "STDTC") if meta.variable(code + s))
    variables[date] = "{date: {column: Date, format: dd/mm/yyyy}}"
    if code == "IE":  # the test, category and standard result come from study.yaml's criteria
        variables = {
            "IETESTCD": "{constant: INCL01}",
            "IEORRES": "{constant: N}",
            date: variables[date],
        }
    body = "".join(f"      {name}: {value}\n" for name, value in variables.items())
    head = f"domain: {code}\nsources:\n  - source: every\n    subject: Subject No.\n"
    return f"{head}    variables:\n{body}"


def test_every_general_class_dataset_converts_and_validates(tmp_path: Path) -> None:
    ct = shipped_terminology().codelists
    study = tmp_path / "study"
    shutil.copytree(STUDY, study)
    (study / "raw" / "every.csv").write_text(FORM)
    codes = sorted(c for c, m in standard_domains().items() if m.dataset_class in GENERAL)
    assert len(codes) == 46
    mapped = [c for c in codes if c != "EX"]  # the study's own EX spec stays
    for code in mapped:
        (study / "mappings" / f"{code.lower()}_every.yaml").write_text(
            _spec(code, standard_domains()[code], ct)
        )
    text = (study / "study.yaml").read_text()
    text = text.replace(
        "  - {name: infusion, file: raw/infusion.csv}",
        "  - {name: infusion, file: raw/infusion.csv}\n  - {name: every, file: raw/every.csv}",
    )
    specs = ", ".join(["dm.yaml", "ex.yaml", *(f"{c.lower()}_every.yaml" for c in mapped)])
    text = re.sub(r"^domains: \[.*\]$", f"domains: [{specs}]", text, flags=re.M)
    (study / "study.yaml").write_text(text)
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out, "--format", "xpt")
    assert result.exit_code == 0, result.output
    for code in mapped:
        frame, _ = pyreadstat.read_xport(str(out / "sdtm" / f"{code.lower()}.xpt"))
        # one record per subject (IE too: each subject's INCL01 answered N is an exception)
        assert frame["USUBJID"].nunique() == len(frame) == 5, code
        assert frame[f"{code}SEQ"].tolist() == [1.0] * 5, code
    assert define_xml.validate((out / "sdtm" / "define.xml").read_bytes()) == []
    report = json.loads((out / "validation" / "validation.json").read_text())
    severe = {
        (f["rule"], f["dataset"], f["record"], f["variable"])
        for f in report["findings"]
        if f["severity"] in ("Reject", "Error")
    }
    # what the one-form-per-domain data itself makes wrong, and nothing else: each subject has
    # a death details (DD) record yet DM does not flag them dead (TB0400, CORE-000108); PP
    # carries the Expected PPRFTDTC, which CORE-000165 (TB0228) pairs with PPTPTREF
    assert severe == {("TB0400", "DM", n, "DTHFL") for n in range(1, 6)} | {
        ("TB0228", "PP", None, "PPTPTREF")
    }
