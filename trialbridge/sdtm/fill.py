"""Derived variables filled in on SDTM that came from files (a sponsor's folder, a FHIR pull):
the reference dates, study days, visit numbers, epochs and baseline flags a dataset lacks.

A variable counts as lacking when the file does not have it or has it empty on every record;
what the files hold is never changed. The same derivations as `convert` do the work; the
study design comes from the folder's own SE, SV and TV."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialbridge.errors import UserError
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.derivations import baseline, epoch, reference_dates, study_day, visits
from trialbridge.sdtm.domain_frame import Baseline, DomainFrame, DomainSettings
from trialbridge.sdtm.lineage import COLUMN, FILE, ROW
from trialbridge.sdtm.metadata import DomainMeta, VariableMeta, domain_meta, standard_domains
from trialbridge.sdtm.standards import rows
from trialbridge.study import ReferenceRule

GENERAL = ("Findings", "Findings About", "Events", "Interventions")
# qualifiers that split a test's results into separate baselines where a domain has them
BASELINE_BY = ("TESTCD", "CAT", "SCAT", "SPEC", "METHOD", "POS", "LOC", "LAT", "TPTREF")


@dataclass(frozen=True)
class Filled:
    """One variable a dataset lacked: how many records got a value, how many are still
    empty and why."""

    dataset: str
    variable: str
    filled: int
    empty: int
    why_empty: str
    added: bool = True  # False: the variable could not be derived, the line says why


WHY_EMPTY = {
    "DY": "the record has no complete date, or its subject no complete DM.RFSTDTC",
    "VISITNUM": "VISIT is missing, or neither SV (for that subject) nor TV has it",
    "EPOCH": "the record has no complete date, or it is before the subject's first SE element",
    "RF": "the subject has none of the dates the rule takes",
    "FL": "",  # a flag is empty wherever it is not Y
}

# why a variable is not added at all: the folder lacks the design dataset it comes from
NO_DESIGN = {
    "VISITNUM": "the folder has neither SV nor TV to take visit numbers from",
    "EPOCH": "the folder has no SE to take the subjects' elements from",
}


def fill(
    datasets: dict[str, Dataset], folder: str, baseline_at: str = "RFXSTDTC"
) -> tuple[dict[str, Dataset], list[Filled]]:
    """The datasets with what they lacked filled in, and a line per variable filled."""
    if "DM" not in datasets:
        raise UserError(
            "there is no DM dataset: study days and baselines count from DM's reference dates",
            folder,
            "add dm.xpt (or dm.json) to the folder",
        )
    every = {name: _domain_frame(data) for name, data in datasets.items()}
    domains = {
        name: domain
        for name, domain in every.items()
        if name == "DM" or domain.meta.dataset_class in GENERAL
    }
    for domain in domains.values():
        if "USUBJID" not in domain.frame:
            raise UserError(
                "the dataset has no USUBJID, so its records cannot be tied to subjects",
                domain.where,
                "add USUBJID (or take the file out of the folder)",
            )
    dm = domains["DM"]
    dm.update(reference_dates.derive(dm.frame, domains, _reference_rules(dm)))
    if baseline_at not in dm.frame:
        raise UserError(
            f"DM has no {baseline_at}, the date baselines are taken at",
            dm.where,
            "give the DM variable to use with --baseline-at",
        )
    design = {name: datasets[name].frame for name in ("SE", "SV", "TV") if name in datasets}
    lines: list[Filled] = []
    for name, domain in domains.items():
        if name != "DM":
            lines += _fill_domain(name, domain, dm.frame, design, baseline_at)
    completed = dict(datasets)
    for name, domain in domains.items():
        added = [
            c
            for c in domain.frame
            if c not in datasets[name].frame or _empty(datasets[name].frame[c])
        ]
        added = [c for c in added if c not in (FILE, ROW, COLUMN) and domain.meta.variable(c)]
        if added:
            completed[name] = _with(datasets[name], domain, added)
            lines += [_line(name, c, domain.frame[c]) for c in added]
    return completed, lines


def _domain_frame(data: Dataset) -> DomainFrame:
    """The dataset's records with lineage (the file and record number) and without the
    variables it has only empty, so the derivations take those as missing."""
    frame = data.frame.drop(columns=[c for c in data.frame if _empty(data.frame[c])])
    where = data.source.name if data.source is not None else data.name
    frame[FILE] = where
    frame[ROW] = np.arange(1, len(frame) + 1)
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    code, meta = _domain_of(data)
    return DomainFrame(code, meta, frame, where)


def _domain_of(data: Dataset) -> tuple[str, DomainMeta]:
    """A split dataset (LBCH, QSGI: the domain code and a suffix) is its DOMAIN's."""
    if data.meta.variables or "DOMAIN" not in data.frame:
        return data.name, data.meta
    codes = data.frame["DOMAIN"].dropna().unique()
    if len(codes) == 1 and data.name.startswith(str(codes[0])) and codes[0] in standard_domains():
        return str(codes[0]), domain_meta(str(codes[0]))
    return data.name, data.meta


def _reference_rules(dm: DomainFrame) -> dict[str, ReferenceRule]:
    """The shipped rules for the reference dates DM lacks, in table order."""
    rules = {}
    for row in rows("reference_date_rules.csv"):
        if row["variable"] not in dm.frame:
            rules[row["variable"]] = ReferenceRule.model_validate(
                {row["pick"]: row["dates"].split()}
            )
    return rules


def _fill_domain(
    name: str,
    domain: DomainFrame,
    dm: pd.DataFrame,
    design: dict[str, pd.DataFrame],
    baseline_at: str,
) -> list[Filled]:
    """Fills what the domain lacks; returns a line for each variable it could not add."""
    domain.update(study_day.derive(domain, dm))
    frame, p, skipped = domain.frame, domain.code, []
    numbered = "VISITNUM" in frame or not domain.meta.variable("VISITNUM")
    if "VISIT" in frame and not numbered:
        if "SV" in design or "TV" in design:
            numbers = visits.from_design(frame, design.get("SV"), design.get("TV"))
            domain.update({"VISITNUM": numbers})
        else:
            skipped.append(_not_added(name, "VISITNUM", len(frame)))
    if "EPOCH" not in frame and domain.meta.variable("EPOCH"):
        if "SE" in design:
            domain.update(epoch.from_elements(domain, design["SE"]))
        else:
            skipped.append(_not_added(name, "EPOCH", len(frame)))
    flags = [f"{p}LOBXFL", f"{p}BLFL"]
    wanted = domain.meta.variable(f"{p}LOBXFL") and not any(f in frame for f in flags)
    if wanted and {f"{p}TESTCD", f"{p}DTC"} <= set(frame) and f"{p}ORRES" in frame:
        by = [p + q for q in BASELINE_BY if p + q in frame]
        rule = Baseline(by=by, at=baseline_at, flags=["LOBXFL"])
        domain.settings = DomainSettings(baseline=rule)
        domain.update(baseline.derive(domain, dm))
    return skipped


def _not_added(dataset: str, variable: str, records: int) -> Filled:
    return Filled(dataset, variable, 0, records, NO_DESIGN[variable], added=False)


def _with(data: Dataset, domain: DomainFrame, added: list[str]) -> Dataset:
    """The dataset with the added variables in their SDTMIG places among the file's own."""
    variables = [v for v in data.variables if v.name not in added]
    for name in added:
        meta = domain.meta.variable(name)
        assert meta is not None
        variables.insert(_place(variables, meta, domain.meta), meta)
    columns = {
        v.name: domain.frame[v.name] if v.name in added else data.frame[v.name] for v in variables
    }
    frame = pd.DataFrame(columns, index=data.frame.index)
    return Dataset(data.name, data.label, data.meta, variables, frame, data.lineage, data.source)


def _place(variables: list[VariableMeta], new: VariableMeta, meta: DomainMeta) -> int:
    """After the last variable the SDTMIG orders before the new one (non-standard variables
    stay where the file has them)."""
    order = {v.name: v.order for v in meta.variables}
    before = [i for i, v in enumerate(variables) if order.get(v.name, new.order) < new.order]
    return before[-1] + 1 if before else 0


def _line(dataset: str, variable: str, values: pd.Series) -> Filled:
    kind = next(
        (k for k in ("VISITNUM", "EPOCH") if variable == k),
        "FL" if variable.endswith("FL") else "DY" if variable.endswith("DY") else "RF",
    )
    empty = int(values.isna().sum())
    return Filled(dataset, variable, len(values) - empty, empty, WHY_EMPTY[kind] if empty else "")


def _empty(values: pd.Series) -> bool:
    """No value on any record (blank text counts as none: XPT has no missing text)."""
    if values.dtype.kind in "fiu":
        return bool(values.isna().all())
    return bool(values.isna().all() or values.astype("str").str.strip().eq("").all())
