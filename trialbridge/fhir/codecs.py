"""Value conversions between SDTM columns and FHIR JSON values, both directions."""

from __future__ import annotations

import re
from typing import Any

from trialbridge.fhir.paths import set_path
from trialbridge.fhir.table import ORIGINAL_TEXT

# FHIR R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full date-time with seconds and a zone
_FHIR_DATETIME = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)


def datetime_to_fhir(text: str) -> tuple[str, str | None]:
    """(FHIR value, original SDTM text when FHIR cannot hold it exactly)."""
    if _FHIR_DATETIME.match(text):
        return text, None
    head = re.match(r"^(\d{4})(-\d{2})?(-\d{2})?", text)
    if head is None:
        raise ValueError(f"'{text}' is not an ISO 8601 date")
    year, month, day = head.groups()
    if text[4:7] == "---":  # 2021---15: unknown month, known day
        return year, text
    return year + (month or "") + (day or "" if month else ""), text


def place_datetime(resource: dict[str, Any], path: str, text: str) -> None:
    """Set an ISO 8601 value; when FHIR cannot hold it exactly, keep the SDTM text in the
    element's primitive extension (`_name`)."""
    value, original = datetime_to_fhir(text)
    set_path(resource, path, value)
    if original is not None:
        parent, _, name = path.rpartition(".")
        holder = f"{parent}._{name}" if parent else f"_{name}"
        set_path(resource, holder, {"extension": [{"url": ORIGINAL_TEXT, "valueString": original}]})


def datetime_from_fhir(value: str | None, extension: list[dict[str, Any]] | None) -> str | None:
    for ext in extension or []:
        if ext.get("url") == ORIGINAL_TEXT:
            return ext.get("valueString")
    return value
