"""Value conversions between SDTM columns and FHIR JSON values, both directions."""

from __future__ import annotations

import calendar
import re
from typing import Any

from trialbridge.fhir.paths import set_path
from trialbridge.fhir.table import ORIGINAL_TEXT

# FHIR R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full date-time with seconds and a zone
_FHIR_DATETIME = re.compile(
    r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$"
)


# the known parts of an SDTM ISO 8601 value (a part may be "-" when unknown: 2021---15)
_PARTS = re.compile(
    r"^(?P<year>\d{4}|-)(-(?P<month>\d{2}|-)(-(?P<day>\d{2}|-)?"
    r"(T(?P<hour>\d{2}|-)(:(?P<minute>\d{2}|-)(:(?P<second>\d{2})(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def _check_calendar(text: str) -> None:
    """Refuse what no calendar has: month 13, 30 February, hour 25."""
    found = _PARTS.match(text)
    if found is None:
        raise ValueError(f"'{text}' is not an ISO 8601 date/time")
    part = {k: int(v) for k, v in found.groupdict().items() if v and v.isdigit()}
    if "month" in part and not 1 <= part["month"] <= 12:
        raise ValueError(f"'{text}' has no month {part['month']}")
    if "day" in part:
        year, month = part.get("year", 2000), part.get("month", 1)
        days = calendar.monthrange(year, month)[1] if "month" in part else 31
        if not 1 <= part["day"] <= days:
            raise ValueError(f"'{text}' has no day {part['day']} in its month")
    limits = {"hour": 23, "minute": 59, "second": 59}
    for name, top in limits.items():
        if name in part and part[name] > top:
            raise ValueError(f"'{text}' has no {name} {part[name]}")


def datetime_to_fhir(text: str) -> tuple[str, str | None]:
    """(FHIR value, original SDTM text when FHIR cannot hold it exactly)."""
    _check_calendar(text)
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
