"""Paths that a file (a manifest, a checkpoint) names: confined to their folder. No absolute
path, no `..`, no link that leads out; what is read is a regular file of bounded size."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class Unsafe(ValueError):
    """A named path that may not be read; the message says why, the caller says where."""


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a file inside a folder, judged from the text alone; None if it can."""
    if not name:
        return "'' is an empty name"
    if "\\" in name or "\0" in name or any(ord(c) < 32 for c in name):
        return f"{name!r} holds a backslash or a control character"
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return f"{name!r} is an absolute path"
    if ".." in path.parts:
        return f"{name!r} leads out of its folder (..)"
    return None


def inside(folder: Path, name: str, limit: int) -> Path:
    """The regular file `name` in `folder`, links followed if they stay inside; else Unsafe."""
    problem = name_problem(name)
    if problem:
        raise Unsafe(problem)
    path = folder / name
    if not path.exists():
        raise Unsafe(f"{name!r} is missing" + (" (a broken link)" if path.is_symlink() else ""))
    real = path.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise Unsafe(f"{name!r} is a link that leads out of its folder")
    if not real.is_file():
        raise Unsafe(f"{name!r} is not a regular file")
    if real.stat().st_size > limit:
        raise Unsafe(f"{name!r} is larger than {limit // 1024 // 1024:,} MiB")
    return real
