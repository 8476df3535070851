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

import pytest
import yaml

from tests.helpers import ROOT, run_cli

TODO = "TODO"
TRANSFORMS = {"copy", "constant", "recode", "date", "concat", "lookup", "when"}
# the draft's guesses a data manager replaces, by spec file, source (the study's name) and
# the path below it, each with the reason the draft could not know
CORRECTIONS: dict[str, dict[tuple[str, ...], str]] = {
    "plmsc-spms": {
        ("ae.yaml", "adverse_events", "variables", "AEREL"): "AEREL has no CT codelist: "
        "the study's words are recoded to the sponsor's terms",
        ("vs.yaml", "vitals", "melt", "columns", "Heart rate (bpm)", "VSTESTCD"): "HR and "
        "PULSE are both CT codes for a heart rate; the study chose PULSE",
        ("vs.yaml", "vitals", "melt", "columns", "Heart rate (bpm)", "VSTEST"): "the same",
        ("vs.yaml", "vitals", "melt", "columns", "Respiratory rate (/min)", "VSORRESU"): "/min and "
        "breaths/min are both CT units; the study chose breaths/min",
    },
    "ascend-spms": {
        ("ae.yaml", "adverse_events", "variables", "AEREL"): "AEREL has no CT codelist: "
        "the study's words are recoded to the sponsor's terms",
    },
}


class Resolution:
    """The answers, additions and corrections applied to one draft."""

    def __init__(self, corrections: dict[tuple[str, ...], str]) -> None:
        self.corrections = corrections
        self.corrected: set[tuple[str, ...]] = set()
        self.answered: list[tuple[str, ...]] = []
        self.added: list[tuple[str, ...]] = []
        self.deleted: list[tuple[str, ...]] = []
        self.visits = 0

    def merge(self, draft: Any, study: Any, path: tuple[str, ...]) -> Any:
        if path in self.corrections:
            assert draft != study, f"{path}: the draft now guesses the study's value"
            self.corrected.add(path)
            return study
        if path[-2:] == ("variables", "VISIT") and study is not None:
            # study.yaml's visit names are the study's: VISIT is recoded to them, from the
            # column the draft found
            assert draft["copy"] == _column(study), path
            self.visits += 1
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


def _column(expression: dict) -> str:
    return expression["copy"] if "copy" in expression else expression["recode"]["column"]


def _resolve(name: str, draft: Path) -> Resolution:
    study = ROOT / "fixtures" / name
    settings = yaml.safe_load((study / "study.yaml").read_text("utf-8"))
    drafted = yaml.safe_load((draft / "study.yaml").read_text("utf-8"))
    named = {s["file"]: s["name"] for s in settings["sources"]}  # the study's source names
    assert set(named) <= {s["file"] for s in drafted["sources"]}, "every raw file a source"
    renamed = {s["name"]: named.get(s["file"]) for s in drafted["sources"]}
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


@pytest.mark.parametrize("name", ["plmsc-spms", "ascend-spms"])
def test_a_resolved_draft_gives_the_studys_datasets(name: str, tmp_path: Path):
    draft = tmp_path / "draft"
    assert run_cli("init", ROOT / "fixtures" / name / "raw", "--out", draft).exit_code == 0
    resolution = _resolve(name, draft)
    assert resolution.corrected == set(CORRECTIONS.get(name, {}))
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
    assert differ == [], (differ, resolution.answered)
