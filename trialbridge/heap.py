"""Hand the C heap's free pages back to the system between the big steps of a long read.

glibc's malloc serves buffers up to its (self-raising) mmap threshold from the heap; a
read that builds tables column by column leaves the freed transients of one column as
holes between the columns it keeps, and the next column's transients do not all fit in
them. On the 10M-ItemData ODM benchmark those holes held 164 MB at the end of the read
(mallinfo2's fordblks). malloc_trim returns their pages without moving anything."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c"))
    _trim = getattr(_libc, "malloc_trim", None)  # glibc only
except OSError:  # no C library to load (not expected on Linux or macOS)
    _trim = None


def release_free_pages() -> None:
    """The heap's free pages back to the system (a no-op where malloc_trim is missing)."""
    if _trim is not None:
        _trim(0)
