"""What FHIR states across datasets, derived after each dataset is built: the Group of the
enrolled patients and the study's arms on the ResearchStudy (from DM and TA), and each
ResearchSubject's assigned and actual arm (from DM). Derived, so parsing reads the datasets
they come from, not these."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from trialbridge.fhir.build import STUDY_TAG, Built
from trialbridge.fhir.ids import patient_id, resource_id, site_study_id
from trialbridge.sdtm.dataset import Dataset


def enrolled_group(dm: Dataset, study_id: str) -> Built:
    """One Group (actual) with every DM subject as a member."""
    subjects = dm.frame["USUBJID"].dropna().tolist()
    group = {
        "resourceType": "Group",
        "id": resource_id(study_id, "Group", "enrolled"),
        "meta": {"tag": [{"system": STUDY_TAG, "code": study_id}]},
        "type": "person",
        "actual": True,
        "name": "Enrolled subjects",
        "quantity": len(subjects),
        "member": [
            {"entity": {"reference": f"Patient/{patient_id(study_id, s)}"}} for s in subjects
        ],
    }
    ids = pa.array([group["id"]], pa.large_string())
    return Built("Group", "DM enrolled", ids, "", dicts=[group])


def link_study(
    study: dict[str, Any], group: Built | None, ta: Dataset | None, design: list[Built]
) -> None:
    """ResearchStudy.enrollment -> the enrolled Group; ResearchStudy.arm from TA's arms;
    ResearchStudy.protocol -> the PlanDefinitions of the trial design (TA, TE, TV)."""
    if group is not None:
        study["enrollment"] = [{"reference": f"Group/{group.ids[0].as_py()}"}]
    protocol = [
        {"reference": f"PlanDefinition/{plan}"}
        for built in design
        if built.resource == "PlanDefinition"
        for plan in built.ids.to_pylist()
    ]
    if protocol:
        study["protocol"] = protocol
    if ta is not None and {"ARMCD", "ARM"} <= set(ta.frame.columns):
        arms = ta.frame[["ARMCD", "ARM"]].dropna().drop_duplicates()
        study["arm"] = [
            {"name": code, "description": name} for code, name in arms.itertuples(index=False)
        ]


def link_subjects(
    subjects: list[dict[str, Any]],
    dm: Dataset,
    study_id: str,
    arms: set[str] | None,
    sites: bool = False,
) -> None:
    """ResearchSubject.identifier: the subject's SUBJID; assignedArm / actualArm: DM's ARMCD /
    ACTARMCD where it is an arm of the study (TA's ARMCD; a screen failure's SCRNFAIL is
    none), any when the package has no TA; with `sites` (site studies built), `study`: the
    ResearchStudy of the subject's SITEID."""
    frame = dm.frame
    by_patient = {
        f"Patient/{patient_id(study_id, row['USUBJID'])}": row for row in frame.to_dict("records")
    }
    for subject in subjects:
        row = by_patient.get(subject.get("individual", {}).get("reference"))
        if row is None:
            continue
        if _given(row.get("SUBJID")):
            subject["identifier"] = [{"system": SUBJID_SYSTEM, "value": str(row["SUBJID"])}]
        for element, variable in (("assignedArm", "ARMCD"), ("actualArm", "ACTARMCD")):
            value = row.get(variable)
            if _given(value) and (arms is None or str(value) in arms):
                subject[element] = str(value)
        if sites and _given(row.get("SITEID")):
            site = site_study_id(study_id, str(row["SITEID"]))
            subject["study"] = {"reference": f"ResearchStudy/{site}"}


SUBJID_SYSTEM = "https://trialbridge.org/fhir/NamingSystem/subjid"
SITEID_SYSTEM = "https://trialbridge.org/fhir/NamingSystem/siteid"


def site_studies(dm: Dataset, study: dict[str, Any], study_id: str) -> Built | None:
    """A ResearchStudy per site (DM's SITEID) that is part of the study's, as the HL7/CDISC
    mapping guide reaches SITEID and STUDYID; its status is the study's. None without
    SITEID."""
    if "SITEID" not in dm.frame:
        return None
    sites = sorted({str(s) for s in dm.frame["SITEID"].dropna() if str(s).strip()})
    if not sites:
        return None
    resources = [
        {
            "resourceType": "ResearchStudy",
            "id": site_study_id(study_id, site),
            "meta": {"tag": [{"system": STUDY_TAG, "code": study_id}]},
            "identifier": [{"system": SITEID_SYSTEM, "value": site}],
            "status": study["status"],
            "partOf": [{"reference": f"ResearchStudy/{study['id']}"}],
        }
        for site in sites
    ]
    ids = pa.array([r["id"] for r in resources], pa.large_string())
    return Built("ResearchStudy", "DM sites", ids, "", dicts=resources)


def _given(value: Any) -> bool:
    return value is not None and bool(pd.notna(value)) and bool(str(value).strip())
