"""One run, one output: a command writes its whole output into a staging folder beside OUT,
then swaps it in with one atomic exchange (Linux renameat2 RENAME_EXCHANGE). A kill at any
moment leaves OUT as the earlier run left it or as this run completed it, never a mix.

The command owns the entries it writes and those it names in `owns` (an earlier run's
`fhir/` when this one writes none, say); every other entry of OUT is carried into the new
folder as hard links, so a user's own files beside the output stay where they were."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from trialbridge.errors import UserError
from trialbridge.sdtm.write import umask

_PREFIX = ".trialbridge-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextlib.contextmanager
def staged(out_dir: Path, owns: Iterable[str] = ()) -> Iterator[Path]:
    """A fresh folder to write the run's output into; swapped in for `out_dir` when the
    block ends without an exception, removed otherwise."""
    out = check_out_dir(out_dir)
    stage = out.parent / f".{out.name}{_PREFIX}{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _sweep(out)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    except OSError as exc:
        raise UserError(
            f"cannot create the output folder: {exc.strerror}",
            out_dir,
            "give --out a folder in a place you may write to (its parent folder too)",
        ) from None
    try:
        yield stage
        commit(stage, out, {*owns, *(p.name for p in stage.iterdir())})
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def commit(stage: Path, out: Path, owned: set[str]) -> None:
    """Swap `stage` in for `out`; entries of `out` not owned are carried over first."""
    if not out.exists():
        stage.chmod(0o777 & ~umask())
        stage.rename(out)
        return
    for entry in sorted(out.iterdir()):
        if entry.name not in owned:
            _link_tree(entry, stage / entry.name)
    stage.chmod(out.stat().st_mode & 0o7777)
    if not _exchange(stage, out):  # no atomic exchange here: the shortest window instead
        old = stage.with_name(stage.name + "-old")
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)


def check_out_dir(out_dir: Path) -> Path:
    """OUT as a real path; it must be a folder (or nothing yet) and must not hold the
    current folder, which the swap would pull from under the user's shell."""
    out = Path(os.path.realpath(out_dir))
    if out.exists() and not out.is_dir():
        raise UserError("the output path is a file", out_dir, "give a folder for --out")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise UserError(
            f"{above} is a file, not a folder", out_dir, "give --out a path through folders"
        )
    here = Path(os.path.realpath(Path.cwd()))
    if out == here or out in here.parents or out == Path(out.anchor):
        raise UserError(
            "the output folder is the current folder or holds it",
            out_dir,
            "give --out a folder of its own, e.g. --out out",
        )
    return out


def _sweep(out: Path) -> None:
    """Remove staging folders that killed runs left beside OUT; an earlier output moved
    aside (a kill between the two renames where there is no atomic exchange) goes back to
    OUT when OUT is missing."""
    for stale in sorted(out.parent.glob(f".{out.name}{_PREFIX}*")):
        pid = stale.name.removeprefix(f".{out.name}{_PREFIX}").removesuffix("-old")
        if not pid.isdigit() or _alive(int(pid)):
            continue
        if stale.name.endswith("-old") and not out.exists():
            stale.rename(out)
        else:
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a leftover of an earlier process that had this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _link_tree(source: Path, target: Path) -> None:
    """`source` recreated at `target`: files as hard links (copies where links fail)."""
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    elif source.is_dir():
        target.mkdir()
        shutil.copystat(source, target)
        for child in sorted(source.iterdir()):
            _link_tree(child, target / child.name)
    else:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _exchange(one: Path, other: Path) -> bool:
    """Atomically swap two paths; False where the system or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(one), _AT_FDCWD, os.fsencode(other), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(other))
