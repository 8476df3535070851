"""What a FHIR consumer that knows nothing of trialbridge finds with a real server's standard
searches, once the study is pushed: the haemoglobin results by their NCIt C-code and by their
LOINC code, a subject's findings by subject, each count worked out from the XPT files with
pyreadstat. (sekmet has no AdverseEvent search parameters, so `AdverseEvent?subject=` is not
asked of it.)"""

from pathlib import Path

import httpx
import pyreadstat

from tests.fhir.server.sekmet import Sekmet
from tests.helpers import run_cli
from trialbridge.fhir.ids import patient_id

NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
FINDINGS = ("lb", "vs", "qs", "ft", "nv")


def total(server: Sekmet, kind: str, **params: str) -> int:
    response = httpx.get(
        f"{server.base}/{kind}",
        params={**params, "_summary": "count"},
        verify=server.ca,
        timeout=30,
    )
    response.raise_for_status()
    return int(response.json()["total"])


def test_a_consumer_finds_results_by_standard_codes_and_subject(
    fhir_copy: Path, plmsc: Path, server: Sekmet
):
    assert run_cli("fhir", "push", fhir_copy, "--server", server.base).exit_code == 0
    lb, _ = pyreadstat.read_xport(str(plmsc / "sdtm" / "lb.xpt"))
    haemoglobin = int((lb.LBTESTCD == "HGB").sum())
    # ct.tsv: HGB is C64848 in the LBTESTCD codelist; LOINC 718-7 is PLMSC's LBLOINC for HGB
    assert set(lb.loc[lb.LBTESTCD == "HGB", "LBLOINC"]) == {"718-7"}
    assert haemoglobin > 5
    assert total(server, "Observation", code=f"{NCIT}|C64848") == haemoglobin
    assert total(server, "Observation", code="http://loinc.org|718-7") == haemoglobin
    subject = "PLMSC-SPMS-01-001"
    findings = 0
    for name in FINDINGS:
        data, _ = pyreadstat.read_xport(str(plmsc / "sdtm" / f"{name}.xpt"))
        findings += int((subject == data.USUBJID).sum())
    # and the blood pressure panels: one per visit with a systolic and a diastolic result
    vs, _ = pyreadstat.read_xport(str(plmsc / "sdtm" / "vs.xpt"))
    pressures = vs[vs["USUBJID"].eq(subject) & vs.VSTESTCD.isin(["SYSBP", "DIABP"])]
    paired = pressures.groupby(["VISITNUM", "VSDTC"])["VSTESTCD"].nunique()
    findings += int((paired == 2).sum())
    patient = f"Patient/{patient_id('PLMSC-SPMS', subject)}"
    assert findings > 20
    assert total(server, "Observation", subject=patient) == findings
