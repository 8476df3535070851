"""Value conversions between SDTM columns and FHIR JSON values, both directions."""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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


# a local date-time as SDTM writes it: to the minute or second, without a zone
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def datetime_to_fhir(text: str, zone: ZoneInfo | None = None) -> tuple[str, str | None]:
    """(FHIR value, original SDTM text when the value does not read back as it).

    With the site's time zone, a local date-time gets the offset that zone had on that date
    (daylight saving included): SDTM 2021-06-21T10:15 at Asia/Tehran is
    2021-06-21T10:15:00+04:30. Without one, FHIR cannot hold its time (a dateTime with a time
    needs a zone): the value is cut to the date."""
    _check_calendar(text)
    if zone is not None and _LOCAL.match(text):
        local = datetime.fromisoformat(text).replace(tzinfo=zone)
        value = local.isoformat(timespec="seconds")
        return value, None if datetime_text(value) == text else text
    if _FHIR_DATETIME.match(text):
        return text, None if datetime_text(text) == text else text
    head = re.match(r"^(\d{4})(-\d{2})?(-\d{2})?", text)
    if head is None:
        raise ValueError(f"'{text}' is not an ISO 8601 date")
    year, month, day = head.groups()
    if text[4:7] == "---":  # 2021---15: unknown month, known day
        return year, text
    return year + (month or "") + (day or "" if month else ""), text


def datetime_text(value: str) -> str:
    """The SDTM text a FHIR dateTime stands for, read without its original-text extension:
    the local date and time as written, without the zone, and to the minute when the seconds
    are 00 (SDTM keeps what was collected: a clock time is rarely collected to the second)."""
    if "T" not in value:
        return value
    local = _OFFSET.sub("", value)
    return local[:-3] if local.endswith(":00") and len(local) == 19 else local


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
    return None if value is None else datetime_text(value)


def number_text(token: str | int | float) -> str:
    """The text a JSON number reads back as: 13 (an integer), 13.1 (a float's shortest)."""
    if isinstance(token, str):
        token = float(token) if "." in token else int(token)
    return str(token) if isinstance(token, int) else repr(token)
