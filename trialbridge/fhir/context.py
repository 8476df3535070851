"""What building one dataset's resources needs from the rest of the package: each subject's
site time zone and site (DM), which visits have an Encounter (SV) a record may refer to, and
the one treatment each subject had (EX), that an adverse event may be suspected of."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir.ids import medication_id, resource_ids, site_study_id, study_resource_id
from trialbridge.fhir.zones import Zones
from trialbridge.sdtm.dataset import Dataset

VISIT_KEY = ["USUBJID", "VISITNUM"]  # SV's id_from: one Encounter per subject's visit
TEXT = pa.large_string()


@dataclass(frozen=True)
class Context:
    zones: Zones = field(default_factory=Zones)
    encounters: dict[str, str] = field(default_factory=dict)  # visit key -> Encounter/<id>
    study: bool = False  # whether the package has TS, which becomes the ResearchStudy
    sites: dict[str, str] = field(default_factory=dict)  # USUBJID -> SITEID
    treatments: dict[str, str] = field(default_factory=dict)  # USUBJID -> its one EXTRT

    @classmethod
    def of(cls, datasets: dict[str, Dataset], sites: dict[str, str], study_id: str) -> Context:
        sv = datasets.get("SV")
        encounters: dict[str, str] = {}
        if sv is not None and set(VISIT_KEY) <= set(sv.frame.columns):
            ids = _encounter_ids(sv.frame, study_id).to_pylist()
            keys = _visit_keys(sv.frame).to_pylist()
            encounters = {k: f"Encounter/{i}" for k, i in zip(keys, ids, strict=True) if k}
        return cls(
            Zones.of(datasets.get("DM"), sites),
            encounters,
            "TS" in datasets,
            _by_subject(datasets.get("DM"), "SITEID"),
            _by_subject(datasets.get("EX"), "EXTRT"),
        )

    def study_references(self, frame: pd.DataFrame, study_id: str) -> pa.Array:
        """`ResearchStudy/<id>` of each record's site study (the study's where DM gives the
        subject no site)."""
        whole = f"ResearchStudy/{study_resource_id(study_id)}"
        if not self.sites or "USUBJID" not in frame:
            return pa.array([whole] * len(frame), TEXT)
        site = {s: f"ResearchStudy/{site_study_id(study_id, s)}" for s in set(self.sites.values())}
        subjects = pa.array(list(self.sites), TEXT)
        studies = pa.array([site[s] for s in self.sites.values()], TEXT)
        found = _looked_up(_text(frame["USUBJID"]), subjects, studies)
        return pc.fill_null(found, whole)

    def values(self, name: str, frame: pd.DataFrame, study_id: str) -> pa.Array | None:
        """Per-record context values a table element needs, by name: `treatment` (a
        reference to the Medication of the subject's one treatment)."""
        if name != "treatment" or not self.treatments or "USUBJID" not in frame:
            return None
        references = {
            subject: f"Medication/{medication_id(study_id, treatment)}"
            for subject, treatment in self.treatments.items()
        }
        found = frame["USUBJID"].reset_index(drop=True).map(references)
        return pa.array(found.astype(object).where(found.notna(), None), TEXT)

    def encounter_references(self, frame: pd.DataFrame, study_id: str) -> pa.Array | None:
        """`Encounter/<id>` of each record's visit where SV has it (null elsewhere); None
        when no record has one."""
        if not self.encounters or not set(VISIT_KEY) <= set(frame.columns):
            return None
        keys = pa.array(list(self.encounters), TEXT)
        references = pa.array(list(self.encounters.values()), TEXT)
        found = _looked_up(_visit_keys(frame), keys, references)
        if found.null_count == len(found):
            return None
        return found


def _by_subject(dataset: Dataset | None, variable: str) -> dict[str, str]:
    """USUBJID -> the variable's value, for subjects with exactly one distinct value."""
    if dataset is None or not {"USUBJID", variable} <= set(dataset.frame.columns):
        return {}
    pairs = dataset.frame[["USUBJID", variable]].dropna()
    pairs = pairs[pairs[variable].astype(str).str.strip() != ""].drop_duplicates()
    single = pairs.drop_duplicates("USUBJID", keep=False)
    return dict(zip(single["USUBJID"].astype(str), single[variable].astype(str), strict=True))


def _visit_keys(frame: pd.DataFrame) -> pa.Array:
    """USUBJID|VISITNUM, the visit number to 6 decimals: a record's 1.3000000000000003 (float
    noise a conversion left) is SV's visit 1.3. Null where either is missing."""
    number = pd.to_numeric(frame["VISITNUM"], errors="coerce").round(6)
    visit = pc.cast(pa.array(number.to_numpy(dtype="float64"), from_pandas=True), TEXT)
    return pc.binary_join_element_wise(_text(frame["USUBJID"]), visit, pa.scalar("|", TEXT))


def _text(values: pd.Series) -> pa.Array:
    """A text column as Arrow (null where missing)."""
    return pa.array(values.astype(object).to_numpy(), TEXT, from_pandas=True)


def _looked_up(keys: pa.Array, known: pa.Array, values: pa.Array) -> pa.Array:
    """values[i] where keys match known[i]; null where they match none."""
    return values.take(pc.index_in(keys, value_set=known))


def _encounter_ids(frame: pd.DataFrame, study_id: str) -> pa.Array:
    return resource_ids([study_id, "Encounter", "SV"], [frame[v] for v in VISIT_KEY])
