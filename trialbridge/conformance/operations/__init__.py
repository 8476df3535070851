"""The check vocabulary: each operation a function (Context, **params) -> list[Issue],
registered under its name, one per module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from trialbridge.conformance.context import Context, Issue

Operation = Callable[..., list[Issue]]
REGISTRY: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(function: Operation) -> Operation:
        REGISTRY[name] = function
        return function

    return register


def get(name: str) -> Operation | None:
    if not REGISTRY:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY.get(name)


__all__ = ["Context", "Issue", "get", "operation"]
