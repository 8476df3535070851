"""--STRESC, --STRESN, --STRESU (and standard reference ranges) from original results.

The standard unit per test comes from the spec; conversions from data tables, then UCUM
(trialbridge.sdtm.units)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialbridge.errors import KEEP_PER_KIND, UserError
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.lineage import fail_at
from trialbridge.sdtm.lookup import lookup, numbers
from trialbridge.sdtm.units import ROW_FIX, Conversions


def derive(domain: DomainFrame, conversions: Conversions) -> dict[str, pd.Series]:
    """The standard results (and ranges) of a domain whose results are not standardised yet:
    each test's standard unit from the settings, the record's own unit otherwise."""
    frame, p = domain.frame, domain.code
    standard_units = domain.settings.standard_units
    orres, stresc = f"{p}ORRES", f"{p}STRESC"
    if orres not in frame or stresc in frame or not domain.meta.variable(stresc):
        return {}
    if f"{p}TESTCD" not in frame:
        raise UserError(
            f"the spec maps {orres} but not {p}TESTCD: a result needs the test it is of",
            domain.where,
            f"map {p}TESTCD (a melt column's test code, or a column of the source)",
        )
    unit = frame.get(f"{p}ORRESU", pd.Series(pd.NA, index=frame.index, dtype="str"))
    testcd = frame[f"{p}TESTCD"]
    unknown = sorted(set(standard_units) - set(testcd.dropna().unique()))
    if unknown:
        raise UserError(
            f"standard_units names {', '.join(unknown)}, which no {p} record has",
            domain.where,
            f"use {p}TESTCD values",
        )
    target = lookup(testcd, standard_units).astype("str").where(testcd.isin(list(standard_units)))
    target = target.fillna(unit)
    factor, offset = conversions.affine(unit, target, testcd)
    numeric = numbers(frame[orres])
    has_result = frame[orres].notna()
    no_unit = has_result & unit.isna() & target.notna()
    if no_unit.any():
        fail_at(
            frame,
            no_unit,
            f"{p}ORRESU is missing for a {{value}} result that has a standard unit",
            f"{p}TESTCD",
            f"map {p}ORRESU",
            "",
            False,
        )
    needs = has_result & factor.isna() & ~no_unit
    if needs.any():
        _no_conversion(frame, needs, unit, target, testcd, p, conversions)
    text_to_convert = has_result & numeric.isna() & factor.notna() & ((factor != 1) | (offset != 0))
    if text_to_convert.any():
        fail_at(
            frame,
            text_to_convert,
            f"{p}ORRES '{{value}}' is not a number, so it cannot be converted to the standard unit",
            orres,
            "record a number, or leave this test in its original unit",
            None,
            True,
        )
    value = significant(numeric * factor + offset)
    out = {f"{p}STRESN": value, stresc: as_text(value).fillna(frame[orres])}
    if domain.meta.variable(f"{p}STRESU"):
        out[f"{p}STRESU"] = target.where(frame[orres].notna())
    for lo_hi in ("LO", "HI"):
        original = f"{p}ORNR{lo_hi}"
        if original in frame and domain.meta.variable(f"{p}STNR{lo_hi}"):
            out[f"{p}STNR{lo_hi}"] = significant(numbers(frame[original]) * factor + offset)
    return out


def _no_conversion(
    frame: pd.DataFrame,
    needs: pd.Series,
    unit: pd.Series,
    target: pd.Series,
    testcd: pd.Series,
    p: str,
    conversions: Conversions,
) -> None:
    """Every record whose unit has no factor to its standard unit, reported per (unit,
    standard unit, test) for the first KEEP_PER_KIND of them and together past that (a file
    of distinct units would otherwise cost a pass over the frame per unit)."""
    pairs = pd.DataFrame({"unit": unit, "target": target, "test": testcd}).loc[needs]
    groups = list(
        pairs.groupby(["unit", "target", "test"], sort=False, dropna=False).groups.items()
    )
    for (one, to, test), labels in groups[:KEEP_PER_KIND]:
        what, why_fix = conversions.problem(one, to, test)
        fail_at(
            frame,
            labels,
            what.replace("{", "{{").replace("}", "}}"),
            f"{p}ORRESU",
            why_fix,
            "",
            False,
        )
    rest = [labels for _, labels in groups[KEEP_PER_KIND:]]
    if rest:
        labels = pd.Index(np.concatenate(rest)).sort_values()
        what = "no conversion from {value} to the standard unit of its test"
        fail_at(frame, labels, what, f"{p}ORRESU", ROW_FIX, "", False)


def significant(values: pd.Series, digits: int = 12) -> pd.Series:
    """Round away binary noise from unit conversion (0.1 * 3 -> 0.3), each distinct value
    once (results repeat)."""
    codes, uniques = pd.factorize(values.astype("float64"), use_na_sentinel=True)
    rounded = np.char.mod(f"%.{digits}g", np.asarray(uniques, dtype="float64")).astype("float64")
    spread = np.append(rounded, np.nan)[codes]
    return pd.Series(spread, index=values.index)


def as_text(values: pd.Series) -> pd.Series:
    """Shortest text that reads back as the same number, never in exponent notation; each
    distinct value written once."""
    codes, uniques = pd.factorize(values.astype("float64"), use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype="float64")
    text = distinct.astype("str").str.replace(r"\.0$", "", regex=True)
    exponent = text.str.contains("e", regex=False).fillna(False).astype(bool)
    if exponent.any():  # rare: 1e-05, 1e+16; positional text keeps STRESC readable
        text[exponent] = [np.format_float_positional(v, trim="-") for v in distinct[exponent]]
    spread = np.append(text.to_numpy(dtype=object), None)[codes]
    return pd.Series(spread, index=values.index, dtype="str")
