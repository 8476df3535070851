"""What building one dataset's resources needs from the rest of the package: each subject's
site time zone (DM), and which visits have an Encounter (SV) a record may refer to."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir.ids import resource_ids
from trialbridge.fhir.zones import Zones
from trialbridge.sdtm.dataset import Dataset

VISIT_KEY = ["USUBJID", "VISITNUM"]  # SV's id_from: one Encounter per subject's visit


@dataclass(frozen=True)
class Context:
    zones: Zones = field(default_factory=Zones)
    encounters: frozenset[str] = frozenset()  # the ids of SV's Encounters
    study: bool = False  # whether the package has TS, which becomes the ResearchStudy

    @classmethod
    def of(cls, datasets: dict[str, Dataset], sites: dict[str, str], study_id: str) -> Context:
        sv = datasets.get("SV")
        encounters: frozenset[str] = frozenset()
        if sv is not None and set(VISIT_KEY) <= set(sv.frame.columns):
            encounters = frozenset(_encounter_ids(sv.frame, study_id).to_pylist())
        return cls(Zones.of(datasets.get("DM"), sites), encounters, "TS" in datasets)

    def encounter_references(self, frame: pd.DataFrame, study_id: str) -> pa.Array | None:
        """`Encounter/<id>` of each record's visit where SV has it (null elsewhere); None
        when no record has one."""
        if not self.encounters or not set(VISIT_KEY) <= set(frame.columns):
            return None
        ids = _encounter_ids(frame, study_id)
        value_set = pa.array(sorted(self.encounters), ids.type)
        known = pc.fill_null(pc.is_in(ids, value_set=value_set), False)
        known = pc.and_(known, pa.array(frame["VISITNUM"].notna().to_numpy()))
        if not pc.any(known).as_py():
            return None
        prefix, empty = pa.scalar("Encounter/", ids.type), pa.scalar("", ids.type)
        return pc.if_else(known, pc.binary_join_element_wise(prefix, ids, empty), None)


def _encounter_ids(frame: pd.DataFrame, study_id: str) -> pa.Array:
    return resource_ids([study_id, "Encounter", "SV"], [frame[v] for v in VISIT_KEY])
