"""The Python API that the CLI and users call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trialbridge.sdtm import xpt
from trialbridge.sdtm.build import build
from trialbridge.sdtm.ct import Terminology, load_terminology, shipped_terminology
from trialbridge.sdtm.dataset import Dataset
from trialbridge.study import Study, load_study


@dataclass(frozen=True)
class Converted:
    datasets: dict[str, Dataset]
    files: list[Path]
    terminology: str


def terminology_for(study_dir: Path, ct_file: Path | None, declared: str | None) -> Terminology:
    """The CT to use: an explicit file, else the study's declared file, else the shipped subset."""
    if ct_file is not None:
        return load_terminology(ct_file)
    if declared:
        return load_terminology(study_dir / declared)
    return shipped_terminology()


def creation_time(study: Study) -> datetime:
    """The study's 'created', else SOURCE_DATE_EPOCH, else the SAS epoch: never the clock."""
    if study.created is not None:
        return study.created
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=UTC).replace(tzinfo=None)
    return xpt.SAS_EPOCH


def convert(study_dir: Path, out_dir: Path, ct_file: Path | None = None) -> Converted:
    """Native records -> SDTM XPT v5 files in `out_dir/sdtm`. Every dataset is checked
    before any file is written, so a bad input leaves no output behind."""
    folder = load_study(study_dir)
    ct = terminology_for(study_dir, ct_file, folder.study.terminology)
    datasets = build(folder, ct)
    for dataset in datasets.values():
        xpt.check(dataset)
    target = out_dir / "sdtm"
    created = creation_time(folder.study)
    files = [xpt.write(dataset, target, created) for dataset in datasets.values()]
    return Converted(datasets=datasets, files=files, terminology=ct.version)
