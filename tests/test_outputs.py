"""One run, one output (trialbridge/outputs.py): the swap, what it carries over, the modes of
what it writes, and kills at the exact moments around the swap."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus.test_corpus import snapshot
from trialbridge import outputs
from trialbridge.errors import UserError
from trialbridge.sdtm.write import write_text

NO_PID = 4_194_305  # above the largest pid_max Linux allows: no process has it, ever


def _earlier(out: Path) -> None:
    (out / "sdtm").mkdir(parents=True)
    (out / "sdtm" / "dm.xpt").write_text("old dm")
    (out / "sdtm" / "gone.xpt").write_text("old, not written again")
    (out / "mine.txt").write_text("a user's note")


def test_the_new_output_replaces_what_the_command_owns(tmp_path: Path):
    out = tmp_path / "out"
    _earlier(out)
    with outputs.staged(out, owns=("sdtm", "fhir")) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"new dm")
    assert snapshot(out).keys() == {"sdtm/dm.xpt", "mine.txt"}
    assert (out / "sdtm" / "dm.xpt").read_text() == "new dm"
    assert (out / "mine.txt").read_text() == "a user's note"
    assert not list(tmp_path.glob(".out.trialbridge-*"))


def test_a_failed_run_leaves_the_earlier_output(tmp_path: Path):
    out = tmp_path / "out"
    _earlier(out)
    before = snapshot(out)
    with pytest.raises(UserError), outputs.staged(out, owns=("sdtm",)) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"half")
        raise UserError("bad input")
    assert snapshot(out) == before
    assert not list(tmp_path.glob(".out.trialbridge-*"))


@pytest.mark.parametrize(
    ("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)]
)
def test_files_and_folders_honour_the_umask(
    tmp_path: Path, mask: int, file_mode: int, dir_mode: int
):
    """A subprocess, so that the umask it sets is its own."""
    script = (
        "import os, sys; from pathlib import Path\n"
        f"os.umask({mask})\n"
        "from trialbridge import outputs\n"
        "from trialbridge.sdtm.write import write_text\n"
        "with outputs.staged(Path(sys.argv[1])) as stage:\n"
        "    write_text(stage / 'sdtm' / 'dm.xpt', b'x')\n"
    )
    subprocess.run([sys.executable, "-c", script, tmp_path / "out"], check=True)
    assert (tmp_path / "out").stat().st_mode & 0o777 == dir_mode
    assert (tmp_path / "out" / "sdtm").stat().st_mode & 0o777 == dir_mode
    assert (tmp_path / "out" / "sdtm" / "dm.xpt").stat().st_mode & 0o777 == file_mode


def test_an_existing_folder_keeps_its_own_mode(tmp_path: Path):
    out = tmp_path / "out"
    _earlier(out)
    out.chmod(0o750)
    with outputs.staged(out, owns=("sdtm",)) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"new dm")
    assert out.stat().st_mode & 0o777 == 0o750


def test_a_symlinked_output_folder_is_written_where_it_points(tmp_path: Path):
    real = tmp_path / "real"
    _earlier(real)
    (tmp_path / "link").symlink_to(real)
    with outputs.staged(tmp_path / "link", owns=("sdtm",)) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"new dm")
    assert (tmp_path / "link").is_symlink()
    assert (real / "sdtm" / "dm.xpt").read_text() == "new dm"


def test_staging_left_by_a_killed_run_is_swept(tmp_path: Path):
    out = tmp_path / "out"
    left = tmp_path / f".out.trialbridge-{NO_PID}"
    (left / "sdtm").mkdir(parents=True)
    with outputs.staged(out) as stage:
        write_text(stage / "x.txt", b"x")
    assert not left.exists()


def test_without_an_atomic_exchange_the_two_renames_still_give_the_new_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(outputs, "_exchange", lambda one, other: False)
    out = tmp_path / "out"
    _earlier(out)
    with outputs.staged(out, owns=("sdtm",)) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"new dm")
    assert snapshot(out).keys() == {"sdtm/dm.xpt", "mine.txt"}
    assert not list(tmp_path.glob(".out.trialbridge-*"))


def test_an_earlier_output_moved_aside_by_a_killed_run_comes_back(tmp_path: Path):
    """Without an atomic exchange, a kill between the two renames leaves OUT missing and the
    earlier output under the staging name + -old: the next run puts it back (it was swept
    away), and a run that fails then leaves it as it was."""
    out = tmp_path / "out"
    _earlier(tmp_path / f".out.trialbridge-{NO_PID}-old")
    (tmp_path / f".out.trialbridge-{NO_PID}" / "sdtm").mkdir(parents=True)  # the new one
    with pytest.raises(UserError), outputs.staged(out, owns=("sdtm",)) as stage:
        write_text(stage / "sdtm" / "dm.xpt", b"new dm")
        raise UserError("a bad value", "raw/x.csv", "fix it")
    assert sorted(snapshot(out)) == ["mine.txt", "sdtm/dm.xpt", "sdtm/gone.xpt"]
    assert (out / "sdtm" / "dm.xpt").read_text() == "old dm"
    assert not list(tmp_path.glob(".out.trialbridge-*"))


KILL_AT = {
    # the carried-over files are linked, the exchange not yet made
    "before-exchange": "def patched(one, other):\n    os.kill(os.getpid(), 9)\n",
    # the exchange made, the earlier output not yet removed from the staging name
    "after-exchange": (
        "def patched(one, other):\n    done = original(one, other)\n    os.kill(os.getpid(), 9)\n"
    ),
}


@pytest.mark.parametrize("moment", sorted(KILL_AT))
def test_a_kill_around_the_exchange_leaves_one_whole_output(tmp_path: Path, moment: str):
    out = tmp_path / "out"
    _earlier(out)
    old = snapshot(out)
    script = (
        "import os, sys; from pathlib import Path\n"
        "from trialbridge import outputs\n"
        "from trialbridge.sdtm.write import write_text\n"
        "original = outputs._exchange\n"
        f"{KILL_AT[moment]}"
        "outputs._exchange = patched\n"
        "with outputs.staged(Path(sys.argv[1]), owns=('sdtm',)) as stage:\n"
        "    write_text(stage / 'sdtm' / 'dm.xpt', b'new dm')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, out])
    assert done.returncode == -9
    now = snapshot(out)
    new = {"sdtm/dm.xpt": hashlib.sha256(b"new dm").hexdigest(), "mine.txt": old["mine.txt"]}
    assert now == (old if moment == "before-exchange" else new)
    assert (out / "sdtm" / "dm.xpt").read_text() == (
        "old dm" if moment == "before-exchange" else "new dm"
    )
    leftovers = list(tmp_path.glob(".out.trialbridge-*"))
    assert len(leftovers) == 1  # swept by the next run (test above)


def test_the_current_folder_is_never_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    refused = "the output folder is the current folder or holds it"
    for given in (Path("."), tmp_path, tmp_path.parent):
        with pytest.raises(UserError, match=refused), outputs.staged(given):
            pass
    assert os.listdir(tmp_path) == []
