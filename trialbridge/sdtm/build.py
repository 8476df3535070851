"""The study's SDTM datasets in memory: map every spec, then derive, in a fixed order."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from trialbridge.converters.engine import MappedDomain, Mapper, Provenance
from trialbridge.converters.reconciliation import Reconciliation
from trialbridge.errors import UserError, checkpoint
from trialbridge.mappings.spec import DomainSpec
from trialbridge.sdtm import relrec, supp
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.derivations import (
    age,
    arms,
    baseline,
    country,
    epoch,
    range_indicator,
    reference_dates,
    seq,
    standard_results,
    study_day,
    usubjid,
    visits,
)
from trialbridge.sdtm.trial_design import arms as trial_arms
from trialbridge.sdtm.trial_design import subject_elements, subject_visits, ts
from trialbridge.sdtm.units import Conversions
from trialbridge.study import StudyFolder


@dataclass(frozen=True)
class Built:
    """The datasets, plus what Define-XML needs to know about how they were made."""

    datasets: dict[str, Dataset]
    specs: dict[str, DomainSpec]
    provenance: dict[str, dict[str, Provenance]]
    counts: Reconciliation = field(default_factory=Reconciliation)


def build(folder: StudyFolder, ct: Terminology) -> Built:
    """Datasets by name (DM, AE, ..., SUPPAE, trial design, RELREC), specs in study order."""
    mapper = Mapper(folder, ct)
    mapped = mapper.run()
    checkpoint()  # the derivations need clean mapped values
    return dataclasses.replace(derive(folder, mapped, ct), counts=mapper.reconciliation)


def derive(folder: StudyFolder, mapped: dict[str, MappedDomain], ct: Terminology) -> Built:
    """The mapped domains completed: identifiers, reference dates, study days, visits,
    results, flags, SUPP--, trial design and RELREC."""
    study = folder.study
    dm = mapped.get("DM")
    if dm is None:
        raise UserError("the study maps no DM domain", "study.yaml", "add a DM spec to 'domains'")
    # each step reads what the one before made: stop after a step that found problems
    usubjid.derive_dm(dm, study)
    checkpoint()
    for domain in _others(mapped):
        usubjid.derive_other(domain, dm, study)
    checkpoint()
    reference_dates.derive(dm, mapped, study)
    if "RFSTDTC" not in dm.frame:
        raise UserError(
            "DM has no RFSTDTC, the date study days (--DY) count from",
            folder.where("reference_dates") if study.reference_dates else "study.yaml",
            "add 'RFSTDTC: {first: [EX.EXSTDTC]}' under reference_dates, or map RFSTDTC in "
            "the DM spec",
        )
    checkpoint()
    age.derive(dm, study)
    arms.derive(dm, study)
    country.derive(dm, study)
    checkpoint()
    conversions = Conversions.load(study.unit_conversions)
    for domain in mapped.values():
        study_day.derive(domain, dm.frame)
        visits.derive(domain, study)
    checkpoint()
    visits.number_unscheduled(list(mapped.values()), study)
    for domain in mapped.values():
        _derive_domain(domain, dm, folder, conversions)
    checkpoint()
    datasets: dict[str, Dataset] = {}
    for code in _spec_order(folder, mapped):
        domain = mapped[code]
        datasets[code] = finalize(code, domain.meta, domain.frame)
        extra = supp.split(domain)
        if extra is not None:
            datasets[extra.name] = extra
    if datasets["DM"].frame.empty:
        raise UserError("DM has no records", dm.spec_file, "check the demographics source")
    # an empty domain is not submitted (no records, nothing to describe)
    datasets = {name: data for name, data in datasets.items() if len(data.frame)}
    datasets.update(_trial_design(folder, datasets, ct))
    links = relrec.build(mapped, study.studyid)
    if links is not None and len(links.frame):
        datasets["RELREC"] = links
    return Built(
        datasets=datasets,
        specs={code: d.spec for code, d in mapped.items()},
        provenance={code: d.provenance for code, d in mapped.items()},
    )


def _trial_design(
    folder: StudyFolder, datasets: dict[str, Dataset], ct: Terminology
) -> dict[str, Dataset]:
    """TS, TA, TE, TV, TI from the study definition; SE and SV from the subjects' data."""
    study = folder.study
    dm = datasets["DM"]
    design = {
        "TS": ts.build(folder, dm, ct),
        "TA": trial_arms.trial_arms(study),
        "TE": trial_arms.trial_elements(study),
        "TV": trial_arms.trial_visits(study),
        "TI": trial_arms.trial_criteria(study),
        "SE": subject_elements.build(study, dm),
        "SV": subject_visits.build(study, dm, datasets),
    }
    return {name: data for name, data in design.items() if len(data.frame)}


def _derive_domain(
    domain: MappedDomain, dm: MappedDomain, folder: StudyFolder, conversions: Conversions
) -> None:
    study = folder.study
    epoch.derive(domain, dm.frame, study)
    standard_results.derive(domain, conversions)
    range_indicator.derive(domain)
    baseline.derive(domain, dm.frame)
    seq.derive(domain)


def _others(mapped: dict[str, MappedDomain]) -> list[MappedDomain]:
    return [d for code, d in mapped.items() if code != "DM"]


def _spec_order(folder: StudyFolder, mapped: dict[str, MappedDomain]) -> list[str]:
    """The domains in the order study.yaml lists their specs (a variant's own, or those it
    inherits from the study it extends, named as the mapper named them)."""
    by_file = {d.spec_file: code for code, d in mapped.items()}
    return [by_file[folder.spec_shown(name)] for name in folder.study.domains]
