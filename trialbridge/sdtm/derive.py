"""The study's SDTM datasets completed from its domains' records, in a fixed order:
identifiers, reference dates, study days, visits, epochs, results, flags, SUPP--, trial design
and RELREC. The domains may come from the mapping engine or from anywhere else."""

from __future__ import annotations

from dataclasses import dataclass

from trialbridge.errors import UserError, checkpoint
from trialbridge.sdtm import relrec, supp
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.derivations import (
    age,
    arms,
    baseline,
    country,
    eligibility,
    epoch,
    exposure,
    range_indicator,
    reference_dates,
    relative_timing,
    seq,
    standard_results,
    study_day,
    usubjid,
    visits,
)
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.sdtm.trial_design import arms as trial_arms
from trialbridge.sdtm.trial_design import study_datasets, subject_elements, subject_visits, ts
from trialbridge.sdtm.units import Conversions
from trialbridge.study import Study, StudyFolder


@dataclass(frozen=True)
class Completed:
    """The datasets, and the domains they were made from (with any a derivation added)."""

    datasets: dict[str, Dataset]
    domains: dict[str, DomainFrame]


def complete(folder: StudyFolder, domains: dict[str, DomainFrame], ct: Terminology) -> Completed:
    """Datasets by name, in the order of `domains` (each followed by its SUPP--), then the
    trial design datasets and RELREC."""
    study = folder.study
    dm = domains.get("DM")
    if dm is None:
        raise UserError("the study maps no DM domain", "study.yaml", "add a DM spec to 'domains'")
    # each step reads what the one before made: stop after a step that found problems
    dm.update(usubjid.derive_dm(dm, study))
    checkpoint()
    for domain in _others(domains):
        domain.update(usubjid.derive_other(domain, dm.frame, study))
    checkpoint()
    domains = _exposure_from_collected(domains, study.sdtmig_version)
    if "IE" in domains:
        _eligibility(domains["IE"], study)
    checkpoint()
    dm.update(reference_dates.derive(dm.frame, domains, study.reference_dates))
    if "RFSTDTC" not in dm.frame:
        raise UserError(
            "DM has no RFSTDTC, the date study days (--DY) count from",
            folder.where("reference_dates") if study.reference_dates else "study.yaml",
            "add 'RFSTDTC: {first: [EX.EXSTDTC]}' under reference_dates, or map RFSTDTC in "
            "the DM spec",
        )
    checkpoint()
    dm.update(age.derive(dm, study))
    dm.update(arms.derive(dm, study))
    dm.update(country.derive(dm, study))
    checkpoint()
    conversions = Conversions.load(study.unit_conversions, study.molecular_weights)
    for domain in domains.values():
        domain.update(study_day.derive(domain, dm.frame))
        domain.update(relative_timing.derive(domain, dm.frame))
        domain.update(visits.derive(domain, study.visits, study.unscheduled_visit))
    checkpoint()
    numbered = visits.number_unscheduled(
        list(domains.values()), study.visits, study.unscheduled_visit
    )
    for code, columns in numbered.items():
        domains[code].update(columns)
    for domain in domains.values():
        _derive_domain(domain, dm, study, conversions)
    checkpoint()
    datasets: dict[str, Dataset] = {}
    for code, domain in domains.items():
        datasets[code] = finalize(code, domain.meta, domain.frame)
        extra = supp.split(domain)
        if extra is not None:
            datasets[extra.name] = extra
    if datasets["DM"].frame.empty:
        raise UserError("DM has no records", dm.where, "check the demographics source")
    # an empty domain is not submitted (no records, nothing to describe)
    datasets = {name: data for name, data in datasets.items() if len(data.frame)}
    datasets.update(_trial_design(folder, datasets, ct))
    links = relrec.build(domains, study.studyid)
    if links is not None and len(links.frame):
        datasets["RELREC"] = links
    return Completed(datasets, domains)


def _trial_design(
    folder: StudyFolder, datasets: dict[str, Dataset], ct: Terminology
) -> dict[str, Dataset]:
    """TS, TA, TE, TV, TI (and TD, TM, OI as given) from the study definition; SE and SV from
    the subjects' data."""
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
        **study_datasets.build(study.study_datasets, study.studyid),
    }
    return {name: data for name, data in design.items() if len(data.frame)}


def _derive_domain(
    domain: DomainFrame, dm: DomainFrame, study: Study, conversions: Conversions
) -> None:
    domain.update(epoch.derive(domain, dm.frame, study))
    domain.update(standard_results.derive(domain, conversions))
    domain.update(range_indicator.derive(domain))
    domain.update(baseline.derive(domain, dm.frame))
    domain.frame = seq.order(domain)
    domain.update(seq.derive(domain))


def _exposure_from_collected(
    domains: dict[str, DomainFrame], version: str
) -> dict[str, DomainFrame]:
    """EX made from EC where the EC spec asks, placed after EC."""
    asking = [d for d in domains.values() if d.settings.derive_ex]
    for domain in asking:
        if domain.code != "EC":
            raise UserError(
                f"derive_ex is set on {domain.code}: EX is derived from EC only",
                domain.where,
                "remove derive_ex from this spec",
            )
        if "EX" in domains:
            raise UserError(
                "EX is derived from EC (derive_ex) and mapped by a spec as well",
                domains["EX"].where,
                "remove the EX spec from 'domains', or derive_ex from the EC spec",
            )
    if not asking:
        return domains
    ec = domains["EC"]
    ec.update(exposure.link_ids(ec))
    ex = exposure.from_collected(ec, domain_meta("EX", version))
    missed = len(ec.frame) - len(ex.frame)
    if missed:
        ec.notes.append(
            f"{missed:,} EC records of doses not given (ECOCCUR N or scheduled) are not in EX"
        )
    ordered: dict[str, DomainFrame] = {}
    for code, domain in domains.items():
        ordered[code] = domain
        if code == "EC":
            ordered["EX"] = ex
    return ordered


def _eligibility(ie: DomainFrame, study: Study) -> None:
    """IE's test names from the criteria, and only the exceptions kept (the others counted)."""
    ie.update(eligibility.derive(ie, study.criteria))
    checkpoint()
    answers = eligibility.exceptions(ie)
    if not answers.kept.all():  # a copy of the frame only when records go
        ie.frame = ie.frame.loc[answers.kept]
    if answers.as_wanted:
        ie.notes.append(
            f"{answers.as_wanted:,} criteria answered as the protocol wants (inclusion met, "
            "exclusion not met) are not submitted: IE holds only the exceptions"
        )
    if answers.unanswered:
        ie.notes.append(
            f"{answers.unanswered:,} criteria with no answer (IEORRES empty) are not submitted"
        )


def _others(domains: dict[str, DomainFrame]) -> list[DomainFrame]:
    return [d for code, d in domains.items() if code != "DM"]
