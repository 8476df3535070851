"""IEEE 754 doubles to and from the IBM System/360 hexadecimal floats XPT v5 stores, on
whole arrays at once.

An IBM double is a sign bit, a 7-bit base-16 exponent biased by 64 and a 56-bit fraction F,
the value being F * 16**(exponent - 64) / 2**56. A double's 53-bit significand m, shifted left
by 0 to 3 bits to align its binary exponent on a hex digit, fits in those 56 bits, so the
conversion to IBM is exact: no rounding. Missing numbers are '.' followed by seven zero
bytes; SAS's special missing values .A-.Z and ._ read back as missing too."""

from __future__ import annotations

import numpy as np

MISSING = np.frombuffer(b".\x00\x00\x00\x00\x00\x00\x00", dtype=">u8")[0]
_MISSING_TABLE = np.zeros(256, dtype=bool)  # first bytes of missing values: . _ A-Z
_MISSING_TABLE[[0x2E, 0x5F, *range(0x41, 0x5B)]] = True


def to_ibm(values: np.ndarray) -> np.ndarray:
    """Big-endian 8-byte IBM floats (dtype '>u8') for float64 values; NaN becomes missing.
    Values must be 0 or within the IBM range (the caller checks, xpt.check)."""
    x = np.asarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    significand = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    # value = significand / 2**53 * 2**power, with power = exponent - 1022
    power = exponent - 1022
    hex_exponent = -((-power) // 4)  # ceil(power / 4)
    shift = (3 - (4 * hex_exponent - power)).astype(np.uint64)
    fraction = significand << shift
    characteristic = (hex_exponent + 64).astype(np.uint64)
    ibm = (sign << np.uint64(63)) | (characteristic << np.uint64(56)) | fraction
    ibm = np.where(x == 0, np.uint64(0), ibm)
    ibm = np.where(np.isnan(x), MISSING, ibm)
    return ibm.astype(">u8")


def from_ibm(raw: np.ndarray) -> np.ndarray:
    """float64 values for an (n, width) uint8 array of IBM floats of 2 to 8 bytes (shorter
    ones are the leading bytes of a double); missing values become NaN."""
    n, width = raw.shape
    if width == 8:
        words = np.ascontiguousarray(raw).view(">u8").ravel()
    else:
        full = np.zeros((n, 8), dtype=np.uint8)
        full[:, :width] = raw
        words = full.view(">u8").ravel()
    words = words.astype(np.uint64)
    first = (words >> np.uint64(56)).astype(np.uint8)
    fraction_bits = words & np.uint64((1 << 56) - 1)
    missing = _MISSING_TABLE[first] & (fraction_bits == 0)
    characteristic = (first & 0x7F).astype(np.int64)
    values = np.ldexp(fraction_bits.astype(np.float64), 4 * (characteristic - 64) - 56)
    np.negative(values, out=values, where=(first & 0x80).astype(bool))
    values[missing] = np.nan
    return values
