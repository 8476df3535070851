"""define.xml contents for the corpus: the case's own file cut short."""

from __future__ import annotations

from pathlib import Path


def cut(folder: Path, path: Path, keep: int) -> bytes:
    """The first `keep` bytes, as a copy that stopped part way leaves them."""
    return path.read_bytes()[:keep]
