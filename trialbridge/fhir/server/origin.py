"""Where credentials may go: a URL's origin (scheme, host, port), and URLs as they may be shown
(a user name and password in a URL never appear in a message, a log or a file)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from trialbridge.errors import UserError
from trialbridge.sdtm.printable import printable

DEFAULT_PORTS = {"http": 80, "https": 443}
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#]*@")


def redact(text: str) -> str:
    """`text` with the user name and password of every URL in it replaced by ***."""
    return _USERINFO.sub(r"\1***@", text)


def shown_url(url: str) -> str:
    """A URL for a message, quoted, escaped and cut: when it is no valid URL, everything
    between :// and its last @ is hidden (a password holding / ? or # ends the user info
    where redact would not see it)."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        url = f"{scheme}://***@{rest.rpartition('@')[2]}"
    return f"'{printable(repr(redact(url))[1:-1], 200)}'"


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS.get(self.scheme) == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")


def parse(url: str, where: str, what: str, fix: str) -> httpx.URL:
    """An absolute http(s) URL, or one line saying why `url` is not one."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host
    except (httpx.InvalidURL, TypeError, UnicodeError) as problem:
        # httpx's words quote parts of the URL (a password cut at a /): said only without one
        why = "" if "@" in url else f" ({printable(str(problem), 200)})"
        raise UserError(f"{what} {shown_url(url)} is not a valid URL{why}", where, fix) from None
    if parsed.scheme not in DEFAULT_PORTS or not host:
        raise UserError(f"{what} {redact(url)!r} is not an http(s) URL", where, fix)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UserError(f"{what} {redact(url)!r} has no valid port (1 to 65535)", where, fix)
    return parsed


def origin(url: httpx.URL) -> Origin:
    return Origin(url.scheme, url.host, url.port or DEFAULT_PORTS[url.scheme])


def without_userinfo(url: httpx.URL) -> httpx.URL:
    return url.copy_with(username=None, password=None) if url.userinfo else url
