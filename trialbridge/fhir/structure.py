"""FHIR structure: element names, types, cardinalities and primitive formats, checked with the
fhir.resources R4B models (R4's content for every resource type trialbridge builds)."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError


@cache
def _model(kind: str) -> type[BaseModel] | None:
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    except ImportError:
        return None
    return getattr(module, kind, None)


def problems(resource: dict[str, Any]) -> list[str]:
    """One line per structural problem: `path: what is wrong`. A missing top-level element is
    left to the `required` rule, which says so in plainer words."""
    kind = str(resource.get("resourceType", ""))
    model = _model(kind)
    if model is None:
        return [f"{kind or '(no resourceType)'} is not an R4 resource type"]
    try:
        model.model_validate(resource)
    except ValidationError as error:
        return [
            f"{kind}.{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()
            if not (problem["type"].endswith("missing") and len(problem["loc"]) == 1)
        ]
    return []
