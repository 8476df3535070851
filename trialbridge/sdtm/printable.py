"""Text from a file shown in one line of a message: control characters (which could break
the line or drive the terminal) as \\xNN escapes, long text cut."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHOWN = 60  # characters of a value a message quotes


def printable(text: str | bytes, limit: int = SHOWN) -> str:
    """`text` with control characters escaped (bytes: anything but printable ASCII), at most
    `limit` characters of it and '...' when cut."""
    if isinstance(text, bytes):
        shown = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in text[:limit])
    else:
        shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])
    return shown + ("..." if len(text) > limit else "")
