"""TS: the trial summary, derived where the data can say it, the rest from study.yaml."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Any

from trialbridge.errors import UserError
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.trial_design.frames import dataset
from trialbridge.study import StudyFolder, SummaryParameter


@cache
def _parameter_coding() -> dict[str, tuple[str, str]]:
    """TSPARMCD -> (value codelist, code reference), from the shipped table."""
    text = resources.files("trialbridge.sdtm.standards").joinpath("ts_parameters.csv")
    rows = csv.DictReader(text.read_text("utf-8").splitlines())
    return {r["parmcd"]: (r["codelist"], r["reference"]) for r in rows}


def derived_parameters(folder: StudyFolder, dm: Dataset) -> list[SummaryParameter]:
    """Parameters trialbridge knows from the study definition and DM."""
    study = folder.study
    frame = dm.frame
    consent = frame["RFICDTC"].dropna().str.slice(0, 10) if "RFICDTC" in frame else None
    ends = frame["RFPENDTC"].dropna().str.slice(0, 10) if "RFPENDTC" in frame else None
    enrolled = int(frame["ARMCD"].notna().sum()) if "ARMCD" in frame else len(frame)
    params = [
        _value("TITLE", study.title),
        _value("SPONSOR", study.sponsor),
        _value("TPHASE", study.phase),
        _value("SSTDTC", consent.min() if consent is not None and len(consent) else None),
        _value("SENDTC", ends.max() if ends is not None and len(ends) else None),
        _value("ACTSUB", str(enrolled)),
        _value("SDTIGVER", study.sdtmig_version),
        _value("SDTMVER", study.sdtm_version),
    ]
    if study.planned_subjects is not None:
        params.append(_value("PLANSUB", str(study.planned_subjects)))
    if study.data_cutoff:
        params.append(_value("DCUTDTC", study.data_cutoff))
    for registry, ident in study.registry_ids.items():
        params.append(SummaryParameter(parm="REGID", value=ident, code=ident, dictionary=registry))
    return params


def _value(parm: str, value: str | None) -> SummaryParameter:
    if value is None:
        return SummaryParameter(parm=parm, null_flavor="UNK")
    return SummaryParameter(parm=parm, value=value)


def build(folder: StudyFolder, dm: Dataset, ct: Terminology) -> Dataset:
    """One record per parameter value; TSSEQ numbers repeated parameters."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    declared = folder.study.trial_summary
    derived = derived_parameters(folder, dm)
    for index, param in enumerate([*derived, *declared]):
        where = _where(folder, index - len(derived))
        seen[param.parm] = seen.get(param.parm, 0) + 1
        rows.append({"TSSEQ": float(seen[param.parm]), **_record(param, ct, where)})
    order = {code: i for i, code in enumerate(dict.fromkeys(r["TSPARMCD"] for r in rows))}
    rows.sort(key=lambda r: (order[r["TSPARMCD"]], r["TSSEQ"]))
    return dataset("TS", rows, folder.study.studyid)


def _where(folder: StudyFolder, index: int) -> str:
    if index < 0:
        return "study.yaml"
    return folder.where("trial_summary", index)


def _record(param: SummaryParameter, ct: Terminology, where: str) -> dict[str, Any]:
    names = ct.get("TSPARM")
    codes = ct.get("TSPARMCD")
    term_code = codes.terms.get(param.parm) if codes else None
    name = next((n for n, c in (names.terms.items() if names else []) if c == term_code), None)
    if name is None:
        raise UserError(
            f"TS parameter '{param.parm}' is not in CDISC CT TSPARMCD",
            where,
            "use a TSPARMCD submission value",
        )
    record = {"TSPARMCD": param.parm, "TSPARM": name, "TSVAL": param.value}
    record["TSVALNF"] = param.null_flavor
    record.update(_coding(param, ct, where))
    return record


def _coding(param: SummaryParameter, ct: Terminology, where: str) -> dict[str, Any]:
    """TSVALCD / TSVCDREF / TSVCDVER: CT-coded values get their NCI code."""
    if param.value is None:
        return {}
    if param.dictionary:
        return {"TSVALCD": param.code, "TSVCDREF": param.dictionary, "TSVCDVER": param.version}
    codelist_name, reference = _parameter_coding().get(param.parm, ("", ""))
    if reference == "CDISC CT":
        codelist = ct.get(codelist_name)
        code = codelist.terms.get(param.value) if codelist else None
        if code is None and codelist is not None and not codelist.extensible:
            raise UserError(
                f"TS {param.parm} value '{param.value}' is not in codelist {codelist_name}",
                where,
                f"use one of: {', '.join(sorted(codelist.terms))}",
            )
        return {
            "TSVALCD": code,
            "TSVCDREF": "CDISC CT" if code else None,
            "TSVCDVER": ct.version if code else None,
        }
    if reference == "ISO 3166":
        return {"TSVALCD": param.value, "TSVCDREF": "ISO 3166"}
    if reference == "ISO 8601":
        return {"TSVCDREF": "ISO 8601"}
    return {}
