"""Findings results changed on a FHIR server after trialbridge wrote them come back
consistent. The resource's value (--ORRES, or --STRESN where the table puts the standardised
result there) is what the server holds now; the other side of the result, in sdtm-variable
extensions, still says what it said before. So the other side and its reference range are
worked out again from the value by the hub's unit conversions (shipped tables, then UCUM
with molecular weights), and the status (amended, corrected) is kept as a SUPP-- qualifier.
Where no conversion is known the record is one line naming it: a result that disagrees with
itself is never written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from trialbridge.errors import UserError, report
from trialbridge.fhir.table import Amended
from trialbridge.sdtm.derivations.standard_results import as_text, significant
from trialbridge.sdtm.units import Conversions

STATUS = "__status"  # a record's status, where it is one of its table's amended statuses
QNAM, QLABEL, QORIG = "FHIRSTAT", "FHIR Result Status", "Assigned"
FIX = (
    "correct the result in the study's source, convert and push the study again (or give "
    "both results on the server)"
)


@dataclass(frozen=True)
class _Side:
    """The result a resource's value holds, and the other one, by variable suffix."""

    number: str  # the value's number (ORRES is text, STRESN a number)
    unit: str
    other_text: str  # the other result as text, and its number ('' where it has none)
    other_number: str
    other_unit: str
    ranges: tuple[tuple[str, str], ...]  # (from, to) reference range limits
    own_text: str = ""  # the value's own text, where it is a number (STRESC of STRESN)


RANGES = (("ORNRLO", "STNRLO"), ("ORNRHI", "STNRHI"))
SIDES = {
    "original": _Side("ORRES", "ORRESU", "STRESC", "STRESN", "STRESU", RANGES),
    "standard": _Side(
        "STRESN", "STRESU", "ORRES", "", "ORRESU", tuple((b, a) for a, b in RANGES), "STRESC"
    ),
}


@cache
def _conversions() -> Conversions:
    """The shipped conversions (a pull has no study folder, so no study's own rows)."""
    return Conversions.load([])


def settle(
    name: str,
    domain: str,
    frame: pd.DataFrame,
    spec: Amended | None,
    error: Callable[[Any, str], UserError],
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The records with their amended results made whole, and (USUBJID, --SEQ, status) of
    each amended one; `error(row, what)` names a record that cannot be made whole."""
    if spec is None or STATUS not in frame:
        return frame.drop(columns=STATUS, errors="ignore"), None
    amended = frame[STATUS].notna()
    status = frame.loc[amended, STATUS]
    frame = frame.drop(columns=STATUS)
    if not amended.any():
        return frame, None
    side, p = SIDES[spec.value], domain
    rows = frame.loc[amended]
    unit = _column(rows, p + side.unit)
    other_unit = _column(rows, p + side.other_unit)
    test = _column(rows, f"{p}TESTCD")
    both_blank = unit.isna() & other_unit.isna()
    factor, offset = _conversions().affine(unit, other_unit, test)
    factor, offset = factor.mask(both_blank, 1.0), offset.mask(both_blank, 0.0)
    value = _column(rows, p + side.number)
    number = pd.to_numeric(value, errors="coerce")
    same = (factor == 1) & (offset == 0)
    before = _column(rows, p + side.other_text)  # a coded result (QSORRES 'Mild') is no number
    coded = before.notna() & pd.to_numeric(before, errors="coerce").isna() & number.notna()
    unknown = value.notna() & (factor.isna() | (number.isna() & ~same) | coded)
    for label in unknown.index[unknown.to_numpy()]:
        what = _conflict(name, p, rows.loc[label], status[label], side, value[label])
        report(error(label, what))
    converted = significant(number * factor + offset)
    text = as_text(converted).where(converted.notna(), value.where(same))
    frame.loc[amended, p + side.other_text] = text
    if side.other_number:
        frame.loc[amended, p + side.other_number] = converted
    if side.own_text:
        frame.loc[amended, p + side.own_text] = as_text(number).where(number.notna())
    for source, target in side.ranges:
        if p + source in rows:
            limit = significant(pd.to_numeric(rows[p + source], errors="coerce") * factor + offset)
            frame.loc[amended, p + target] = as_text(limit) if target.startswith("OR") else limit
    seq = f"{p}SEQ"
    kept = pd.DataFrame({"USUBJID": rows["USUBJID"], "IDVAR": seq, "IDVARVAL": _column(rows, seq)})
    kept = kept.assign(QNAM=QNAM, QLABEL=QLABEL, QVAL=status, QORIG=QORIG)
    return frame, kept


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name].where(frame[name].notna() & frame[name].ne(""))
    return pd.Series(np.nan, index=frame.index, dtype="object")


def _conflict(name: str, p: str, row: pd.Series, status: str, side: _Side, value: object) -> str:
    unit = row.get(p + side.unit)
    target = row.get(p + side.other_unit)
    test = row.get(f"{p}TESTCD")
    shown = f"{number_text(value)} {unit}" if isinstance(unit, str) and unit else number_text(value)
    seq = row.get(f"{p}SEQ")
    record = f"{name} record of {row.get('USUBJID')}, {p}SEQ {number_text(seq)} ({test})"
    before = row.get(p + side.other_text)
    if isinstance(before, str) and before and _is_number(value) and not _is_number(before):
        why = f"{p}{side.other_text} was '{before}', a coded result no number converts to"
    elif not isinstance(target, str) or not target:
        why = f"{p}{side.other_unit} is blank"
    else:
        why, _ = _conversions().problem(str(unit), target, str(test))
    into = f" in {target}" if isinstance(target, str) and target else ""
    return (
        f"{record} was {status} on the server: {p}{side.number} {shown} does not give "
        f"{p}{side.other_text}{into} ({why})"
    )


def _is_number(value: object) -> bool:
    return bool(pd.notna(pd.to_numeric(pd.Series([value]), errors="coerce").iat[0]))


def number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
