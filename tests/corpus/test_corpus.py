"""The bad-input corpus (tests/corpus/README.md): every case gives its exit code, exactly its
one line, no traceback, and leaves the earlier output as it was."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.corpus import makers
from tests.helpers import ROOT, run_cli

CASES = Path(__file__).parent / "cases"
BASES = ("study", "odm", "redcap", "xpt", "json", "fhir", "none")
ALLOWED = {"errors.csv"}  # what a failed run may add to {out}, replace or remove


def _cases() -> list[Any]:
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            found.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return found


ALL = _cases()


def test_the_corpus_is_well_formed():
    ids = [p.id for p in ALL]
    assert len(ids) == len(set(ids)), "case ids repeat"
    for param in ALL:
        case = param.values[0]
        assert case["base"] in BASES, param.id
        assert case.get("line", "").startswith(("error: ", "internal error: ")), param.id
        assert set(case) <= {"id", "why", "base", "edits", "run", "earlier", "exit", "line"}


@pytest.fixture(scope="session")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_bases(tmp_path_factory.mktemp("corpus-bases"))


def make_bases(root: Path) -> dict[str, Path]:
    """Each base input once, and an earlier output to find intact after a failed run."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "fixtures", root / "fixtures")
    study = root / "fixtures" / "plmsc-spms"
    converted = root / "earlier"
    result = run_cli("convert", study, "--out", converted, "--format", "xpt,fhir")
    assert result.exit_code == 0, result.output
    as_json = root / "as-json"
    result = run_cli("convert", study, "--out", as_json, "--format", "json")
    assert result.exit_code == 0, result.output
    (root / "none").mkdir()
    return {
        "study": study,
        "odm": root / "fixtures" / "plmsc-spms-odm",
        "redcap": root / "fixtures" / "plmsc-spms-redcap",
        "xpt": converted / "sdtm",
        "json": as_json / "sdtm",
        "fhir": converted / "fhir",
        "none": root / "none",
        "earlier": converted,
    }


def _copy_base(case: dict[str, Any], bases: dict[str, Path], tmp: Path) -> Path:
    base = case["base"]
    if base in ("odm", "redcap", "study"):  # variants extend ../plmsc-spms: keep the layout
        shutil.copytree(bases["study"].parent, tmp / "fixtures")
        return tmp / "fixtures" / bases[base].name
    target = tmp / "in"
    shutil.copytree(bases[base], target)
    return target


def _edit(edit: dict[str, Any], folder: Path, tmp: Path) -> None:
    name = edit["file"]
    path = tmp / name.removeprefix("{tmp}/") if name.startswith("{tmp}/") else folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if "replace" in edit:
        data = path.read_bytes()
        old, new = edit["replace"].encode(), str(edit["with"]).encode()
        assert old in data, f"{edit['replace']!r} not in {name}"
        path.write_bytes(data.replace(old, new, 1))
    elif "write" in edit:
        path.write_bytes(str(edit["write"]).encode())
    elif "append" in edit:
        with path.open("ab") as handle:
            handle.write(str(edit["append"]).encode())
    elif edit.get("delete"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif "symlink" in edit:
        path.symlink_to(edit["symlink"].replace("{tmp}", str(tmp)))
    elif "make" in edit:
        maker = makers.find(edit["make"])
        path.write_bytes(maker(folder=folder, path=path, **edit.get("args", {})))
    else:
        raise AssertionError(f"unknown edit {edit}")


def fill(text: str, paths: dict[str, str]) -> str:
    for key, value in paths.items():
        text = text.replace(key, value)
    return text


def unfill(text: str, paths: dict[str, str]) -> str:
    """The case's paths back to their placeholders (longest first: {out} is under {tmp})."""
    for key, value in sorted(paths.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, key)
    return text


def prepare(case: dict[str, Any], bases: dict[str, Path], tmp: Path) -> tuple[Path, Path]:
    """The case's input ({in}) and output ({out}) folders: the base and the earlier output
    copied, then the edits applied (an edit may change the earlier output too)."""
    folder = _copy_base(case, bases, tmp)
    out = tmp / "out"
    if case.get("earlier", True):
        shutil.copytree(bases["earlier"], out)
    for edit in case.get("edits", []):
        _edit(edit, folder, tmp)
    return folder, out


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` by relative path: its SHA-256 (links by target)."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = f"-> {path.readlink()}"
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("case", ALL)
def test_bad_input(case: dict[str, Any], bases: dict[str, Path], tmp_path: Path):
    folder, out = prepare(case, bases, tmp_path)
    before = snapshot(out)
    staging = set(tmp_path.glob(".out.trialbridge-*"))  # what a killed run may have left
    paths = {"{in}": str(folder), "{out}": str(out), "{tmp}": str(tmp_path)}
    result = run_cli(*[fill(str(a), paths) for a in case["run"]])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == case.get("exit", 2), result.output
    assert result.stderr == fill(case["line"], paths) + "\n"
    after = snapshot(out)
    added = {k for k in after if k not in before and k.split("/")[-1] not in ALLOWED}
    assert not added, f"new files in the earlier output: {sorted(added)}"
    kept = {k: v for k, v in before.items() if k.split("/")[-1] not in ALLOWED}
    assert {k: v for k, v in after.items() if k in kept} == kept
    assert set(tmp_path.glob(".out.trialbridge-*")) <= staging, "a staging folder was left"
