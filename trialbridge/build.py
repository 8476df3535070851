"""A study folder's SDTM in memory: map every spec of the folder, then complete the
datasets with the hub's derivations."""

from __future__ import annotations

from dataclasses import dataclass, field

from trialbridge.converters.engine import Mapper
from trialbridge.converters.reconciliation import Reconciliation
from trialbridge.errors import checkpoint
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.derive import complete
from trialbridge.sdtm.domain_frame import DomainFrame, DomainSettings, Provenance
from trialbridge.sdtm.left_empty import LeftEmpty, left_empty
from trialbridge.study import StudyFolder


@dataclass(frozen=True)
class Built:
    """The datasets, plus what Define-XML needs to know about how they were made."""

    datasets: dict[str, Dataset]
    specs: dict[str, DomainSettings]
    provenance: dict[str, dict[str, Provenance]]
    counts: Reconciliation = field(default_factory=Reconciliation)
    left_empty: list[LeftEmpty] = field(default_factory=list)
    notes: dict[str, list[str]] = field(
        default_factory=dict
    )  # per domain: what derivations left out


def build(folder: StudyFolder, ct: Terminology) -> Built:
    """Datasets by name (DM, AE, ..., SUPPAE, trial design, RELREC), specs in study order."""
    mapper = Mapper(folder, ct)
    mapped = mapper.run()
    checkpoint()  # the derivations need clean mapped values
    return derive(folder, mapped, ct, mapper.reconciliation)


def derive(
    folder: StudyFolder,
    mapped: dict[str, DomainFrame],
    ct: Terminology,
    counts: Reconciliation | None = None,
) -> Built:
    """The mapped domains completed, in the order study.yaml lists their specs."""
    ordered = {code: mapped[code] for code in _spec_order(folder, mapped)}
    done = complete(folder, ordered, ct)
    domains = done.domains
    return Built(
        datasets=done.datasets,
        specs={code: d.settings for code, d in domains.items()},
        provenance={code: d.provenance for code, d in domains.items()},
        counts=counts or Reconciliation(),
        left_empty=left_empty(
            done.datasets, {code: set(d.provenance) for code, d in domains.items()}
        ),
        notes={code: d.notes for code, d in domains.items() if d.notes},
    )


def _spec_order(folder: StudyFolder, mapped: dict[str, DomainFrame]) -> list[str]:
    """The domains in the order study.yaml lists their specs (a variant's own, or those it
    inherits from the study it extends, named as the mapper named them)."""
    by_file = {d.where: code for code, d in mapped.items()}
    return [by_file[folder.spec_shown(name)] for name in folder.study.domains]
