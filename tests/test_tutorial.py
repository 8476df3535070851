"""docs/tutorial.md, run as written: in an empty folder holding only the tutorial's raw/,
every `sh` block is run in order (its exit code as its `# exits N` comment says, else 0),
every `edit` block applied (`old => new`: the first `old` replaced; nothing before `=>`:
the line added), and every `text` block after a command found in that command's output
(a line ending in `...` by its start)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_tutorial_runs_from_a_clean_folder(tmp_path: Path):
    shutil.copytree(ROOT / "docs" / "tutorial" / "raw", tmp_path / "raw")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    output = ""
    ran = 0
    for kind, target, body in FENCE.findall(TUTORIAL.read_text("utf-8")):
        if kind == "sh":
            output = _run(body, tmp_path, env)
            ran += 1
        elif kind == "edit":
            _edit(tmp_path / target, body)
        elif kind == "text" and output:
            for line in body.splitlines():
                wanted = line.removesuffix("...")
                assert any(o.startswith(wanted) for o in output.splitlines()), (line, output)
            output = ""
    assert ran == 6  # every command of the tutorial ran


def _run(body: str, folder: Path, env: dict[str, str]) -> str:
    expected = re.match(r"# exits (\d+)", body)
    done = subprocess.run(
        ["bash", "-c", body], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == (int(expected[1]) if expected else 0), (body, done.stderr)
    return done.stdout


def _edit(path: Path, body: str) -> None:
    text = path.read_text("utf-8") if path.exists() else ""
    for line in body.splitlines():
        old, new = line.split(" => ", 1) if " => " in line else (line.removesuffix(" =>"), "")
        if not old.strip():
            text += new + "\n"
            continue
        assert old in text, f"{path.name}: '{old}' not found"
        text = text.replace(old, new, 1)
    path.write_text(text, "utf-8")
