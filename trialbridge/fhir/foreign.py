"""Resources another system wrote for a study's subjects (no study tag), imported on request:
an Observation goes to the Findings dataset its code names (the CDISC test code's system, or
a LOINC code the dataset's table writes for exactly one test), as a record of that dataset
with the next --SEQ of its subject and its resource named in SUPP-- (QNAM FHIRID). What
cannot be placed is counted by type, never dropped unseen."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from trialbridge.fhir import shapes
from trialbridge.fhir.build import DATASET_TAG, ORIGIN_TAG, STUDY_TAG
from trialbridge.fhir.encode import KEY_SEPARATOR, lookup_table, ncit_terms
from trialbridge.fhir.table import table

LOINC = "http://loinc.org"
SOURCE = "__foreign"  # an imported record's resource, Type/id
QNAM, QLABEL, QORIG = "FHIRID", "Source FHIR Resource", "Assigned"


@dataclass(frozen=True)
class Adopted:
    resources: list[dict[str, Any]]  # tagged copies, each a record of the dataset its code names
    left_out: Counter[str]  # by resource type: no dataset to place them in


def adopt(found: list[dict[str, Any]], study_id: str) -> Adopted:
    """The foreign resources trialbridge can place, tagged as the study's records."""
    placed: list[dict[str, Any]] = []
    left_out: Counter[str] = Counter()
    for resource in found:
        domain_test = _placed(resource) if resource["resourceType"] == "Observation" else None
        if domain_test is None:
            left_out[resource["resourceType"]] += 1
            continue
        placed.append(_tagged(resource, study_id, *domain_test))
    return Adopted(placed, left_out)


def _placed(resource: dict[str, Any]) -> tuple[str, str] | None:
    """(domain, test code) an Observation's codings name, if exactly one."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    named: set[tuple[str, str]] = set()
    for coding in codings if isinstance(codings, list) else []:
        if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
            continue
        system, value = coding.get("system"), coding["code"]
        for domain, (cdisc, by_loinc) in _test_codes().items():
            if system == cdisc:
                named.add((domain, value))
            elif system == LOINC and value in by_loinc:
                named.add((domain, by_loinc[value]))
    return named.pop() if len(named) == 1 else None


@cache
def _test_codes() -> dict[str, tuple[str, dict[str, str]]]:
    """Findings domain -> (its test code system, LOINC code -> test code where the LOINC code
    stands for one test), from the tables' test code elements."""
    folder = resources.files("trialbridge.mappings.fhir")
    out = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        spec = table(path.name[:-5].upper()) if path.name.endswith(".yaml") else None
        if spec is None or spec.resource != "Observation" or spec.group_by is not None:
            continue
        test = next((e for e in spec.elements if e.var == f"{spec.domain}TESTCD"), None)
        if test is None or test.system is None:
            continue
        pairs: set[tuple[str, str]] = set()
        for also in test.also:
            if also.system != LOINC:
                continue
            pairs |= {(loinc, testcd) for testcd, loinc in also.map.items()}
            if also.lookup:
                codes, _ = lookup_table(also.lookup, tuple(also.by))
                pairs |= {(loinc, key.split(KEY_SEPARATOR)[0]) for key, loinc in codes.items()}
        tests: dict[str, set[str]] = {}
        for loinc, testcd in pairs:
            tests.setdefault(loinc, set()).add(testcd)
        unique = {loinc: next(iter(t)) for loinc, t in tests.items() if len(t) == 1}
        out[spec.domain] = (test.system, unique)
    return out


def _tagged(resource: dict[str, Any], study_id: str, domain: str, testcd: str) -> dict[str, Any]:
    """A copy tagged as a record of the domain's dataset, its CDISC test code first."""
    copied = copy.deepcopy(resource)
    meta = copied.get("meta")
    meta = copied["meta"] = meta if isinstance(meta, dict) else {}
    tags = meta.get("tag")
    meta["tag"] = [
        *(t for t in (tags if isinstance(tags, list) else []) if isinstance(t, dict)),
        {"system": DATASET_TAG, "code": domain},
        {"system": STUDY_TAG, "code": study_id},
        {"system": ORIGIN_TAG, "code": "foreign"},
    ]
    system = _test_codes()[domain][0]
    codings = copied["code"]["coding"]
    if not any(isinstance(c, dict) and c.get("system") == system for c in codings):
        coding = {"system": system, "code": testcd}
        name = _test_names(domain).get(testcd)
        codings.insert(0, coding | ({"display": name} if name else {}))
    return copied


@cache
def _test_names(domain: str) -> dict[str, str]:
    """Test code -> test name (LBTESTCD HGB -> LBTEST Hemoglobin) by their shared NCIt C-code."""
    codes, _ = ncit_terms(f"{domain}TESTCD")
    names, _ = ncit_terms(f"{domain}TEST")
    by_code = {c: name for name, c in names.items()}
    return {testcd: by_code[c] for testcd, c in codes.items() if c in by_code}


def is_foreign(resource: dict[str, Any]) -> bool:
    """Tagged on import as another system's resource (its tags already checked)."""
    return shapes.tags(resource).get(ORIGIN_TAG) == "foreign"


def number(frame: pd.DataFrame, domain: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Imported records numbered after their subject's last --SEQ, in the order they came;
    and a FHIRID SUPP-- record naming each one's resource."""
    if SOURCE not in frame:
        return frame, None
    imported = frame[SOURCE].notna()
    names = frame.loc[imported, SOURCE]
    frame = frame.drop(columns=SOURCE)
    seq = f"{domain}SEQ"
    if seq not in frame:
        frame[seq] = np.nan
    seqs = pd.to_numeric(frame[seq], errors="coerce")
    last = seqs[~imported].groupby(frame.loc[~imported, "USUBJID"]).max()
    start = frame.loc[imported, "USUBJID"].map(last).fillna(0)
    after = frame.loc[imported].groupby("USUBJID").cumcount() + 1
    frame.loc[imported, seq] = start + after
    kept = pd.DataFrame(
        {
            "USUBJID": frame.loc[imported, "USUBJID"],
            "IDVAR": seq,
            "IDVARVAL": frame.loc[imported, seq],
        }
    )
    return frame, kept.assign(QNAM=QNAM, QLABEL=QLABEL, QVAL=names, QORIG=QORIG)
