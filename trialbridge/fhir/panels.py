"""Panels the R4 vital signs profile wants (blood pressure: 85354-9 with a systolic and a
diastolic component), derived from the record resources that hold their members. SDTM keeps
one record per test, so each record stays its own Observation (what parsing reads); the panel
is written beside them for consumers, with the members' values as components and
`derivedFrom` naming the two, tagged `derived` so parsing passes over it. Members pair when a
subject has exactly one of each test under the same `by` values (visit, date-time, time
point, position, ...) and each has a value in the profile's units and an effective time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialbridge.fhir import profiles, render
from trialbridge.fhir.build import ORIGIN_TAG, STUDY_TAG, Built, put_links
from trialbridge.fhir.bundles import LAST_WAVE
from trialbridge.fhir.context import Context
from trialbridge.fhir.encode import Placed
from trialbridge.fhir.ids import resource_ids
from trialbridge.fhir.table import Panel, Table
from trialbridge.sdtm.dataset import Dataset

LOINC = "http://loinc.org"
AFTER_RECORDS = LAST_WAVE + 1  # a wave after the Observations the panels are derived from


def build_panels(
    dataset: Dataset, built: Built, spec: Table, study_id: str, context: Context
) -> list[Built]:
    """One Built per panel of the table that has pairs in the dataset."""
    out = []
    for panel in spec.panels:
        rows = _members(dataset.frame, built, panel, spec.domain)
        if len(rows):
            out.append(_panel(dataset, built, spec, panel, rows, study_id, context))
    return out


def _members(frame: pd.DataFrame, built: Built, panel: Panel, domain: str) -> np.ndarray:
    """(panels, members): the record rows of each panel, in the members' order."""
    profile = profiles.by_loinc()[panel.code]
    by_path = {p.path: p for p in built.placed}
    value, unit = by_path.get("valueQuantity.value"), by_path.get("valueQuantity.code")
    effective = by_path.get("effectiveDateTime")
    testcd = f"{domain}TESTCD"
    if value is None or unit is None or effective is None or testcd not in frame:
        return np.empty((0, len(panel.members)), dtype=np.int64)
    test = frame[testcd].reset_index(drop=True)
    units = pd.Series(unit.values.to_pandas())
    fits = pd.Series(False, index=test.index)
    for member, component in zip(panel.members, profile.components, strict=True):
        fits |= (test == member) & units.isin(component.units)
    fits &= pd.Series(np.asarray(pc.is_valid(value.values))) & pd.Series(
        np.asarray(pc.is_valid(effective.values))
    )
    keys = [frame[k].reset_index(drop=True) for k in panel.by if k in frame]
    found = pd.DataFrame({"test": test, "row": np.arange(len(test))}).loc[fits]
    for number, key in enumerate(keys):
        found[f"k{number}"] = key.loc[fits].astype("string").fillna("\x00")
    names = [f"k{n}" for n in range(len(keys))]
    counts = found.groupby([*names, "test"], sort=False)["row"].transform("size")
    found = found[counts == 1]
    wide = found.pivot_table(index=names, columns="test", values="row", aggfunc="first")
    wide = wide.reindex(columns=panel.members).dropna()
    rows = wide.to_numpy(dtype=np.int64)
    return rows[np.argsort(rows[:, 0], kind="stable")]  # in the first member's record order


def _panel(
    dataset: Dataset,
    built: Built,
    spec: Table,
    panel: Panel,
    rows: np.ndarray,
    study_id: str,
    context: Context,
) -> Built:
    first = rows[:, 0]
    frame = dataset.frame.reset_index(drop=True)
    picked = frame.iloc[first].reset_index(drop=True)
    ids = resource_ids(
        [study_id, "Observation", f"{dataset.name}-{panel.code}"],
        [picked[v] for v in spec.id_from],
    )
    tree = render.Tree(len(rows))
    out = Built("Observation", f"{dataset.name}-{panel.code}", ids, spec.domain, tree=tree)
    out.wave = AFTER_RECORDS
    if built.sources:  # a finding names the first member's source row
        out.sources = [built.sources[int(row)] for row in first]
    else:
        out.sources = [None] * len(first)
    tags = [{"system": STUDY_TAG, "code": study_id}, {"system": ORIGIN_TAG, "code": "derived"}]
    profile = profiles.by_loinc()[panel.code]
    tree.put("resourceType", render.constant("Observation"))
    tree.put("id", render.Leaf(ids, prefix='"', suffix='"'))
    constants = {
        "meta.tag": tags,
        "meta.profile": [profile.url],
        **spec.fixed,
        "code.coding[0]": {"system": LOINC, "code": panel.code, "display": panel.display},
        "code.text": panel.text,
    }
    for path, value in constants.items():
        tree.put(path, render.constant(value))
    shared = ("subject", "status", "effectiveDateTime", "_effectiveDateTime", "bodySite", "method")
    for placed in built.placed:
        if placed.path.split(".")[0].split("[")[0] in shared:
            out.placed.append(_put(tree, placed, placed.path, first))
        elif placed.path == "extension" and placed.rendered is not None:  # body position
            tree.append_items("extension", render.Leaf(placed.rendered.take(pa.array(first))))
    for number, component in enumerate(profile.components):
        member = rows[:, number]
        where = f"component[{number}]"
        tree.put(
            f"{where}.code.coding[0]", render.constant({"system": LOINC, "code": component.loinc})
        )
        for placed in built.placed:
            if placed.path.startswith("valueQuantity."):
                out.placed.append(_put(tree, placed, f"{where}.{placed.path}", member))
        reference = render.wrap_each("Observation/", built.ids.take(pa.array(member)), "")
        derived = Placed(f"derivedFrom[{number}]", reference, "reference", "reference", safe=True)
        tree.put(derived.path, derived.leaf())
        out.placed.append(derived)  # checked to resolve, as every reference
    put_links(tree, spec, context, frame.iloc[first].reset_index(drop=True), study_id)
    return out


def _put(tree: render.Tree, placed: Placed, path: str, rows: np.ndarray) -> Placed:
    taken = replace(
        placed,
        path=path,
        values=placed.values.take(pa.array(rows)),
        rendered=None if placed.rendered is None else placed.rendered.take(pa.array(rows)),
    )
    tree.put(path, taken.leaf())
    return taken
