"""Datasets whose records belong to no subject and that nothing else builds (SDTMIG 3.4: TD,
TM, OI), given in study.yaml as their rows: checked against the dataset's metadata, then
written as they are."""

from __future__ import annotations

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.metadata import DomainMeta, standard_domains
from trialbridge.sdtm.printable import printable
from trialbridge.sdtm.trial_design.frames import dataset

Row = dict[str, str | int | float]
# the trial design datasets built from other study.yaml keys
BUILT = {"TS": "trial_summary", "TA": "arms", "TE": "elements", "TV": "visits", "TI": "criteria"}
_FILLED = ("STUDYID", "DOMAIN")  # filled in for every row


def check(name: str, rows: list[Row], version: str) -> None:
    """A ValueError naming the first thing wrong with dataset `name`'s rows, if any."""
    meta = _meta(name, version)
    if not rows:
        raise ValueError(f"{name} has no rows; give them, or leave {name} out")
    settable = {v.name: v for v in meta.variables if v.name not in _FILLED}
    required = [v.name for v in meta.variables if v.core == "Req" and v.name not in _FILLED]
    for number, row in enumerate(rows, 1):
        where = f"{name} row {number}"
        unknown = sorted(set(row) - set(settable))
        if unknown:
            raise ValueError(
                f"{where}: '{printable(unknown[0])}' is no variable of {name}; its variables "
                f"are {', '.join(settable)}"
            )
        missing = [v for v in required if row.get(v) in (None, "")]
        if missing:
            raise ValueError(f"{where}: {', '.join(missing)} (Req) has no value; give it")
        for variable, value in row.items():
            if settable[variable].type == "Num" and not _number(value):
                raise ValueError(
                    f"{where}: {variable} is numeric, '{printable(str(value))}' is not a number"
                )


def _number(value: str | int | float) -> bool:
    """Whether a value reads as a finite number (study.yaml's scalars arrive as text)."""
    try:
        return abs(float(value)) < float("inf")
    except ValueError:
        return False


def _meta(name: str, version: str) -> DomainMeta:
    if name in BUILT:
        raise ValueError(f"{name} is built from '{BUILT[name]}'; give its content there")
    meta = standard_domains(version).get(name)
    if meta is None:
        raise ValueError(f"'{printable(name)}' is no SDTMIG {version} dataset")
    if meta.variable("USUBJID") is not None:
        raise ValueError(f"{name} holds subjects' records: map it with a spec listed in 'domains'")
    return meta


def build(given: dict[str, list[Row]], study_id: str) -> dict[str, Dataset]:
    """Each dataset from its rows, in the order given."""
    return {name: dataset(name, rows, study_id) for name, rows in given.items()}
