"""The records a record is tied to outside its dataset: its supplemental qualifiers (SUPP--
rows naming it by IDVAR and IDVARVAL, or the subject's for a dataset without --SEQ) and the
RELREC relationships it belongs to, with the other records of each."""

from __future__ import annotations

import pandas as pd

from trialbridge.sdtm.dataset import Dataset
from trialbridge.sdtm.printable import printable


def related_lines(datasets: dict[str, Dataset], dataset: Dataset, record: pd.Series) -> list[str]:
    """`explain`'s lines for the record's SUPP-- qualifiers and RELREC relationships."""
    lines = []
    for name, supp in datasets.items():
        if name.startswith("SUPP"):
            lines += [
                f"  {name}: {row.QNAM} '{_text(row.QVAL)}' ({row.QLABEL}; {row.QORIG})"
                for row in _naming(supp.frame, dataset.name, record).itertuples()
            ]
    relrec = datasets.get("RELREC")
    if relrec is not None:
        lines += _relationships(relrec.frame, dataset.name, record)
    return lines


def _naming(frame: pd.DataFrame, domain: str, record: pd.Series) -> pd.DataFrame:
    """The rows of a SUPP-- or RELREC that name the record: its domain and subject, and its
    IDVAR's value (a row without IDVAR names all the subject's records)."""
    if not {"RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL"} <= set(frame.columns):
        return frame.iloc[0:0]
    usubjid = record.get("USUBJID")
    mine = (frame["RDOMAIN"] == domain) & (frame["USUBJID"] == usubjid)
    rows = frame.loc[mine.fillna(False)]
    keep = [
        _blank(row.IDVAR)
        or (row.IDVAR in record and _text(record[row.IDVAR]) == _text(row.IDVARVAL))
        for row in rows.itertuples()
    ]
    return rows.loc[keep]


def _relationships(frame: pd.DataFrame, domain: str, record: pd.Series) -> list[str]:
    lines = []
    for row in _naming(frame, domain, record).itertuples():
        group = frame.loc[(frame["RELID"] == row.RELID) & (frame["USUBJID"] == row.USUBJID)].drop(
            index=row.Index
        )
        others = ", ".join(
            f"{other.RDOMAIN} {other.IDVAR} {_text(other.IDVARVAL)}" for other in group.itertuples()
        )
        lines.append(f"  RELREC RELID {_text(row.RELID)}: with {others or 'no other record'}")
    return lines


def _blank(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and value != value)
        or not str(value).strip()
    )


def _text(value: object) -> str:
    """A value as IDVARVAL writes it: a whole number without its decimal point."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if _blank(value) else printable(str(value).strip())
