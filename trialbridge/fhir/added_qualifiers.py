"""SUPP-- records parsing adds to what the resources carry: the status of a result amended on
the server (FHIRSTAT), the resource an imported record came from (FHIRID). A record the
resources already qualify with the same QNAM keeps one: the one added."""

from __future__ import annotations

import pandas as pd

from trialbridge.fhir.amended import number_text
from trialbridge.sdtm.dataset import Dataset, finalize
from trialbridge.sdtm.metadata import domain_meta

KEYS = ["USUBJID", "IDVARVAL", "QNAM"]


def add(
    datasets: dict[str, Dataset],
    added: dict[str, tuple[str, list[pd.DataFrame]]],
    study: str | None,
) -> dict[str, Dataset]:
    """SUPP<name> for each dataset with added records (USUBJID, IDVAR, IDVARVAL, QNAM,
    QLABEL, QVAL, QORIG), beside the dataset's own qualifiers."""
    out: dict[str, Dataset] = {}
    for name, (domain, frames) in added.items():
        new = pd.concat(frames, ignore_index=True).assign(STUDYID=study, RDOMAIN=domain)
        new["IDVARVAL"] = new["IDVARVAL"].map(number_text)
        supp = datasets.get(f"SUPP{name}")
        frame = new if supp is None else pd.concat([_without(supp.frame, new), new])
        frame = frame.reset_index(drop=True)
        out[f"SUPP{name}"] = finalize(f"SUPP{name}", domain_meta(f"SUPP{domain}"), frame)
    return out


def _without(supp: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """SUPP-- without the records `new` replaces (a result amended again)."""
    again = supp[KEYS].merge(new[KEYS].drop_duplicates(), how="left", indicator=True)
    return supp[~again["_merge"].eq("both").to_numpy()]
