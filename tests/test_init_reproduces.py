"""A draft resolved gives back its study: `trialbridge init` on a bundled study's raw folder,
then the decisions a data manager makes, all taken from that study's own hand-written files
(read with PyYAML): each TODO answered, each variable or setting the draft did not find
added, each guess listed in CORRECTIONS replaced (and nothing else). Converted, the resolved
draft must give every dataset of the bundled study byte for byte: a guess kept from the draft
that is wrong changes a dataset and fails the test, and a correction no longer needed fails
it too (the draft's value must differ from the study's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.helpers import ROOT, run_cli

TODO = "TODO"
TRANSFORMS = {"copy", "constant", "recode", "date", "concat", "lookup", "when"}
# the draft's guesses a data manager replaces, by spec file, source (the study's name) and
# the path below it, each with the reason the draft could not know
AEREL = ("ae.yaml", "adverse_events", "variables", "AEREL")
SPONSOR_TERMS = "AEREL has no CT codelist: the study's words are recoded to the sponsor's terms"
CORRECTIONS: dict[str, dict[tuple[str, ...], str]] = {
    "plmsc-spms": {
        AEREL: SPONSOR_TERMS,
        ("vs.yaml", "vitals", "melt", "columns", "Heart rate (bpm)", "VSTESTCD"): "HR and "
        "PULSE are both CT codes for a heart rate; the study chose PULSE",
        ("vs.yaml", "vitals", "melt", "columns", "Heart rate (bpm)", "VSTEST"): "the same",
        ("vs.yaml", "vitals", "melt", "columns", "Respiratory rate (/min)", "VSORRESU"): "/min and "
        "breaths/min are both CT units; the study chose breaths/min",
    },
    "ascend-spms": {AEREL: SPONSOR_TERMS},
    "plmsc-spms-odm": {AEREL: SPONSOR_TERMS},
    "plmsc-spms-redcap": {AEREL: SPONSOR_TERMS},
}


# how much each draft needed (README quotes it): TODOs answered, lines added
NEEDED = {
    "plmsc-spms": (13, 51),
    "ascend-spms": (19, 43),
    "plmsc-spms-odm": (11, 44),
    "plmsc-spms-redcap": (11, 44),
}


class Resolution:
    """The answers, additions and corrections applied to one draft."""

    def __init__(self, corrections: dict[tuple[str, ...], str]) -> None:
        self.corrections = corrections
        self.corrected: set[tuple[str, ...]] = set()
        self.answered: list[tuple[str, ...]] = []
        self.added: list[tuple[str, ...]] = []
        self.deleted: list[tuple[str, ...]] = []
        self.study_level = 0

    def merge(self, draft: Any, study: Any, path: tuple[str, ...]) -> Any:
        if path in self.corrections:
            assert draft != study, f"{path}: the draft now guesses the study's value"
            self.corrected.add(path)
            return study
        if path[-2] == "variables" and path[-1] in ("VISIT", "SITEID") and study is not None:
            # study.yaml's visit names and site ids are the study's: VISIT and SITEID are
            # recoded to them, from the column the draft found
            assert _column(draft) == _column(study), path
            self.study_level += 1
            return study
        if draft == TODO:  # answered, or (the study has no such line) deleted
            (self.answered if study is not None else self.deleted).append(path)
            return study
        if isinstance(draft, dict) and isinstance(study, dict):
            if TRANSFORMS & set(draft) and TRANSFORMS & set(draft) != TRANSFORMS & set(study):
                return draft  # a different transform: kept, so the datasets tell
            merged = {k: self.merge(v, study.get(k), (*path, str(k))) for k, v in draft.items()}
            merged = {k: v for k, v in merged.items() if v is not None}
            for key in study.keys() - draft.keys():
                merged[key] = study[key]
                self.added.append((*path, str(key)))
            return merged
        return draft


def _form(source: dict) -> tuple[str, str]:
    """A source's file and the form it reads there (an EDC export holds many)."""
    return source["file"], source.get("item_group") or source.get("instrument") or ""


def _column(expression: dict) -> str:
    return expression["copy"] if "copy" in expression else expression["recode"]["column"]


def _resolve(name: str, draft: Path) -> Resolution:
    study = ROOT / "fixtures" / name
    settings = yaml.safe_load((study / "study.yaml").read_text("utf-8"))
    drafted = yaml.safe_load((draft / "study.yaml").read_text("utf-8"))
    named = {_form(s): s["name"] for s in settings["sources"]}  # the study's source names
    assert set(named) <= {_form(s) for s in drafted["sources"]}, "every raw form a source"
    renamed = {s["name"]: named.get(_form(s)) for s in drafted["sources"]}
    resolution = Resolution(CORRECTIONS.get(name, {}))
    for spec in sorted((draft / "mappings").glob("*.yaml")):
        if spec.name not in settings["domains"]:
            spec.unlink()  # a domain the study does not submit: left out
            continue
        ours = yaml.safe_load(spec.read_text("utf-8"))
        theirs = yaml.safe_load((study / "mappings" / spec.name).read_text("utf-8"))
        spec.write_text(yaml.safe_dump(_spec(ours, theirs, renamed, resolution, spec.name)))
    for domain in settings["domains"]:
        if not (draft / "mappings" / domain).exists():  # a domain the draft did not guess
            (draft / "mappings" / domain).write_bytes((study / "mappings" / domain).read_bytes())
            resolution.added.append((domain,))
    # study.yaml's decisions (identity, visits, arms, trial summary) are the study's own
    if "extends" in settings:
        settings["extends"] = str((study / settings["extends"]).resolve())
    (draft / "study.yaml").write_text(yaml.safe_dump(settings), "utf-8")
    return resolution


def _spec(
    ours: dict, theirs: dict, renamed: dict[str, str], resolution: Resolution, file: str
) -> dict:
    blocks = {b["source"]: b for b in theirs["sources"]}
    resolved = []
    for block in ours["sources"]:
        block["source"] = renamed[block["source"]]
        if block["source"] is None:
            continue  # a file the study does not read
        path = (file, block["source"])
        resolved.append(resolution.merge(block, blocks.get(block["source"], {}), path))
    kept = {b["source"] for b in resolved}
    resolved += [b for b in theirs["sources"] if b["source"] not in kept]
    return {**theirs, **{k: v for k, v in ours.items() if k != "sources"}, "sources": resolved}


@pytest.mark.parametrize(
    "name", ["plmsc-spms", "ascend-spms", "plmsc-spms-odm", "plmsc-spms-redcap"]
)
def test_a_resolved_draft_gives_the_studys_datasets(name: str, tmp_path: Path):
    draft = tmp_path / "draft"
    assert run_cli("init", ROOT / "fixtures" / name / "raw", "--out", draft).exit_code == 0
    resolution = _resolve(name, draft)
    assert resolution.corrected == set(CORRECTIONS.get(name, {}))
    assert (len(resolution.answered), len(resolution.added)) == NEEDED[name]
    built = ((tmp_path / "drafted", draft), (tmp_path / "written", ROOT / "fixtures" / name))
    for out, study in built:
        result = run_cli("convert", study, "--out", out)
        assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "written" / "sdtm").glob("*.xpt"))
    assert sorted(p.name for p in (tmp_path / "drafted" / "sdtm").glob("*.xpt")) == written
    differ = [
        n
        for n in written
        if (tmp_path / "drafted" / "sdtm" / n).read_bytes()
        != (tmp_path / "written" / "sdtm" / n).read_bytes()
    ]
    assert differ == [], [
        _differences(tmp_path / "written" / "sdtm" / n, tmp_path / "drafted" / "sdtm" / n)
        for n in differ
    ]


def _differences(written: Path, drafted: Path) -> str:
    """Where two datasets differ: the variables and the first record, for the message."""
    ours, theirs = pd.read_sas(drafted, encoding="utf-8"), pd.read_sas(written, encoding="utf-8")
    if list(ours.columns) != list(theirs.columns) or len(ours) != len(theirs):
        shape = f"{len(theirs)} records of {list(theirs.columns)}"
        return f"{written.name}: {shape}, drafted {len(ours)} of {list(ours.columns)}"
    found = []
    for name in theirs.columns:
        same = (ours[name] == theirs[name]) | (ours[name].isna() & theirs[name].isna())
        if not same.all():
            row = int((~same).to_numpy().argmax())
            found.append(
                f"{name} record {row + 1}: {theirs[name][row]!r}, drafted {ours[name][row]!r}"
            )
    return f"{written.name}: " + "; ".join(found)
