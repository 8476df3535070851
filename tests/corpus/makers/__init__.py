"""Makers of corpus file contents: `make: name` is a function of common.py, `make: kind.name`
one of kind.py (one module per input kind, so that each kind's makers sit together)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def find(name: str) -> Callable[..., bytes]:
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(f"tests.corpus.makers.{module or 'common'}"), function)
