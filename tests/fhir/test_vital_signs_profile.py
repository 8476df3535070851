"""Vital signs as the FHIR R4 vital signs profiles want them, on the CDISC pilot's 29,643 VS
records: blood pressure also as the 85354-9 panel, meta.profile claimed by every record that
meets a profile, a coded dataAbsentReason for a test not done. The profile rules are written
out here again from the R4 specification (observation-vitalsigns.html), independently of
fhir/definitions/vital_signs.yaml; the counts come from the pilot's parquet with pandas."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.pilot import source, write_pilot
from trialbridge.fhir.assemble import assemble
from trialbridge.fhir.checks import check
from trialbridge.sdtm.read import read_folder

SD = "http://hl7.org/fhir/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# R4 vital signs profiles: the LOINC code of each, and the UCUM codes its value may have
R4 = {
    "bodyweight": ("29463-7", {"kg", "g", "[lb_av]"}),
    "bodyheight": ("8302-2", {"cm", "[in_i]"}),
    "bodytemp": ("8310-5", {"Cel", "[degF]"}),
    "heartrate": ("8867-4", {"/min"}),
    "resprate": ("9279-1", {"/min"}),
    "oxygensat": ("2708-6", {"%"}),
    "bmi": ("39156-5", {"kg/m2"}),
}
BP = {"8480-6": "SYSBP", "8462-4": "DIABP"}


def meets(resource: dict[str, Any]) -> list[str]:
    """What a resource claiming an R4 vital signs profile lacks (empty: it meets it)."""
    (profile,) = resource["meta"]["profile"]
    name = profile.removeprefix(SD)
    lacks = []
    if not resource.get("status"):
        lacks.append("status")
    categories = [c for cat in resource.get("category", []) for c in cat.get("coding", [])]
    if not any(c.get("code") == "vital-signs" for c in categories):
        lacks.append("category")
    if "subject" not in resource or "effectiveDateTime" not in resource:
        lacks.append("subject or effective")
    codes = {c["code"] for c in resource["code"]["coding"] if c.get("system") == LOINC}
    if name == "bp":
        if codes != {"85354-9"}:
            lacks.append("code")
        found = {}
        for component in resource.get("component", []):
            (code,) = [c["code"] for c in component["code"]["coding"]]
            quantity = component.get("valueQuantity", {})
            ok = quantity.get("system") == UCUM and quantity.get("code") == "mm[Hg]"
            found[code] = ok and "value" in quantity
        if found != {"8480-6": True, "8462-4": True}:
            lacks.append("components")
        return lacks
    wanted, units = R4.get(name, (None, {"mm[Hg]"}))
    if name == "vitalsigns" and not codes & set(BP):
        lacks.append("code")
    if name != "vitalsigns" and wanted not in codes:
        lacks.append("code")
    quantity = resource.get("valueQuantity")
    if quantity is None and "dataAbsentReason" not in resource:
        lacks.append("value or dataAbsentReason")
    if quantity is not None and (quantity.get("system") != UCUM or quantity["code"] not in units):
        lacks.append("unit")
    return lacks


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    folder = write_pilot(tmp_path_factory.mktemp("pilot"), ["dm", "vs", "sv"])
    return [
        r for r in assemble(read_folder(folder)).resources() if r["resourceType"] == "Observation"
    ]


def test_every_claim_meets_its_profile_and_every_record_claims_one(built):
    claims = Counter(
        r["meta"]["profile"][0].removeprefix(SD) for r in built if "profile" in r["meta"]
    )
    assert [r["id"] for r in built if "profile" in r["meta"] and meets(r)] == []
    vs = pq.read_table(source() / "vs.parquet").to_pandas()
    tests = vs["VSTESTCD"].value_counts()
    # every pilot VS record meets a profile: its test's, or the base one for SYSBP and DIABP
    assert claims["bodyweight"] == tests["WEIGHT"] == 2050
    assert claims["bodyheight"] == tests["HEIGHT"] == 254
    assert claims["bodytemp"] == tests["TEMP"] == 2720
    assert claims["heartrate"] == tests["PULSE"] == 8204
    assert claims["vitalsigns"] == tests["SYSBP"] + tests["DIABP"] == 16415
    assert claims["bp"] == 8205
    assert sum(claims.values()) - claims["bp"] == len(vs) == 29643


def test_blood_pressure_panels_pair_the_records_of_one_measurement(built):
    """A panel for each subject, visit, date-time, time point and position with one systolic
    and one diastolic result (pandas, from the parquet): its components are their values."""
    vs = pq.read_table(source() / "vs.parquet").to_pandas()
    bp = vs[vs["VSTESTCD"].isin(["SYSBP", "DIABP"]) & vs["VSORRES"].ne("") & vs["VSORRES"].notna()]
    key = ["USUBJID", "VISITNUM", "VSDTC", "VSTPTNUM", "VSPOS"]
    pairs = bp.groupby(key, dropna=False)["VSTESTCD"].agg(sorted)
    assert (pairs.map(tuple) == ("DIABP", "SYSBP")).sum() == 8205
    panels = [r for r in built if r["code"]["coding"][0]["code"] == "85354-9"]
    assert len(panels) == 8205
    by_id = {f"Observation/{r['id']}": r for r in built}
    for panel in panels[:500]:
        members = [by_id[d["reference"]] for d in panel["derivedFrom"]]
        assert [m["code"]["coding"][0]["code"] for m in members] == ["SYSBP", "DIABP"]
        for component, member in zip(panel["component"], members, strict=True):
            assert component["valueQuantity"] == member["valueQuantity"]
        assert panel["effectiveDateTime"] == members[0]["effectiveDateTime"]
        assert panel["subject"] == members[0]["subject"]
        assert {t["code"] for t in panel["meta"]["tag"]} == {"CDISCPILOT01", "derived"}


def test_a_test_not_done_says_why_in_code(built):
    vs = pq.read_table(source() / "vs.parquet").to_pandas()
    assert (vs["VSSTAT"] == "NOT DONE").sum() == 8
    absent = [r for r in built if "dataAbsentReason" in r]
    assert len(absent) == 8
    assert {json.dumps(r["dataAbsentReason"]["coding"]) for r in absent} == {
        json.dumps(
            [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-performed",
                }
            ]
        )
    }
    assert {r["status"] for r in absent} == {"cancelled"}


def test_the_validator_flags_a_claim_the_resource_does_not_meet(built):
    weight = next(r for r in built if r["meta"].get("profile") == [SD + "bodyweight"])
    wrong = json.loads(json.dumps(weight))
    wrong["valueQuantity"]["code"] = "lb"  # not UCUM's [lb_av]
    found = [(f.rule, f.resource) for f in check(wrong, None)]
    assert found == [("profile-bodyweight", f"Observation/{weight['id']}")]
    panel = next(r for r in built if r["meta"].get("profile") == [SD + "bp"])
    broken = json.loads(json.dumps(panel))
    del broken["component"][1]
    assert [f.rule for f in check(broken, None)] == ["profile-bp"]
    assert check(panel, None) == [] and check(weight, None) == []


def test_column_validation_checks_each_claim_of_a_built_table(tmp_path, monkeypatch):
    """A build that claimed bodyweight for every vital sign (a wrong claimer patched in) is
    caught record by record by the validation that runs on built columns: PLMSC's VS has
    154 records, 25 of them WEIGHT (counted from its vs.xpt)."""
    import pandas as pd
    import pyarrow as pa

    from tests.helpers import STUDY
    from trialbridge import api
    from trialbridge.fhir import profiles
    from trialbridge.fhir.build import build_dataset
    from trialbridge.fhir.column_checks import validate_built

    api.convert(STUDY, tmp_path, formats=("xpt",))
    vs = read_folder(tmp_path / "sdtm")["VS"]
    weights = int((vs.frame["VSTESTCD"] == "WEIGHT").sum())
    assert (len(vs.frame), weights) == (154, 25)

    def everything_is_a_weight(loinc: pa.Array, *_: pa.Array) -> pa.Array:
        urls = pd.Series(SD + "bodyweight", index=range(len(loinc)), dtype=object)
        return pa.array(urls.to_numpy(dtype=object), pa.large_string())

    monkeypatch.setattr(profiles, "claims", everything_is_a_weight)
    found = validate_built([build_dataset(vs, "PLMSC-SPMS")])
    claims = [f for f in found if f.rule.startswith("profile-")]
    # the rest: references to the Patients and Encounters, not built in this test
    assert {f.rule for f in found} - {f.rule for f in claims} == {"reference"}
    assert {f.rule for f in claims} == {"profile-bodyweight"}
    assert len(claims) == len(vs.frame) - weights == 129


def test_a_panel_finding_names_its_first_members_record(tmp_path):
    """A panel validated without the Observations it is derived from: each of its references
    is a finding that names the panel and the systolic record's source row (it was an
    IndexError: panels had no source rows)."""
    from tests.helpers import STUDY
    from trialbridge import api
    from trialbridge.fhir.build import build_dataset
    from trialbridge.fhir.column_checks import validate_built
    from trialbridge.fhir.context import Context
    from trialbridge.fhir.panels import build_panels
    from trialbridge.fhir.table import table

    api.convert(STUDY, tmp_path, formats=("xpt",))
    datasets = read_folder(tmp_path / "sdtm")
    vs = datasets["VS"]
    built = build_dataset(vs, "PLMSC-SPMS")
    spec = table("VS")
    assert spec is not None
    (panels,) = build_panels(vs, built, spec, "PLMSC-SPMS", Context())
    found = validate_built([panels])
    # 25 panels, each referring to its Patient and its two Observations
    assert len(found) == 25 * 3
    assert {f.rule for f in found} == {"reference"}
    assert {f.record.split(", ")[0] for f in found} == {"SDTM VS-85354-9"}


def test_no_panel_where_the_members_cannot_be_told_apart_or_one_is_missing(tmp_path):
    """A VS without VSTESTCD (a sponsor's odd dataset), or with systolic results only, gets
    no panel and no error (a KeyError before, for the first)."""
    import dataclasses

    from tests.helpers import STUDY
    from trialbridge import api
    from trialbridge.fhir.build import build_dataset
    from trialbridge.fhir.context import Context
    from trialbridge.fhir.panels import build_panels
    from trialbridge.fhir.table import table

    api.convert(STUDY, tmp_path, formats=("xpt",))
    vs = read_folder(tmp_path / "sdtm")["VS"]
    spec = table("VS")
    assert spec is not None
    untested = dataclasses.replace(vs, frame=vs.frame.drop(columns=["VSTESTCD"]))
    systolic = dataclasses.replace(
        vs, frame=vs.frame[vs.frame["VSTESTCD"] == "SYSBP"].reset_index(drop=True)
    )
    for dataset in (untested, systolic):
        built = build_dataset(dataset, "PLMSC-SPMS")
        assert build_panels(dataset, built, spec, "PLMSC-SPMS", Context()) == []
    built = build_dataset(vs, "PLMSC-SPMS")
    assert [len(p.ids) for p in build_panels(vs, built, spec, "PLMSC-SPMS", Context())] == [25]
