"""IANA time zones by name, from the tz database Python finds (the system's, else the tzdata
package pandas installs)."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone the tz database holds."""
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
