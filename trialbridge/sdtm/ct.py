"""CDISC Controlled Terminology: the shipped subset, or a full NCI EVS release file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd

from trialbridge.errors import UserError

EVS_COLUMNS = {
    "Code": "code",
    "Codelist Code": "codelist_code",
    "Codelist Extensible (Yes/No)": "extensible",
    "Codelist Name": "codelist_name",
    "CDISC Submission Value": "value",
    "CDISC Synonym(s)": "synonyms",
    "NCI Preferred Term": "preferred_term",
}
# a numeric result as --ORRES or --STRESC write it (7.4, <0.5, >=10): not a term, as a result
# variable's codelist holds the qualitative results only
NUMERIC_RESULT = re.compile(r"\s*[<>]?=?\s*-?\d+(\.\d+)?\s*")
RESULT_SUFFIXES = ("ORRES", "STRESC")


@dataclass(frozen=True)
class Codelist:
    """One codelist: its terms by submission value, and synonyms pointing at them."""

    code: str
    short_name: str
    name: str
    extensible: bool
    terms: dict[str, str]
    synonyms: dict[str, str] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)
    displays: dict[str, str] = field(default_factory=dict)  # value -> NCI preferred term

    def normalise(self, value: str) -> str | None:
        """Submission value for `value`: exact, exact synonym, then case-blind if unique."""
        if value in self.terms:
            return value
        return self.synonyms.get(value) or self.folded.get(value.casefold())


@dataclass(frozen=True)
class Terminology:
    version: str
    codelists: dict[str, Codelist]

    def get(self, short_name: str) -> Codelist | None:
        return self.codelists.get(short_name)


def _build(frame: pd.DataFrame, version: str) -> Terminology:
    """Codelists from rows in NCI EVS layout (codelist rows have no Codelist Code)."""
    heads = frame[frame["codelist_code"] == ""]
    terms = frame[frame["codelist_code"] != ""]
    by_codelist = dict(tuple(terms.groupby("codelist_code", sort=False)))
    empty = terms.iloc[0:0]
    codelists: dict[str, Codelist] = {}
    for head in heads.itertuples(index=False):
        rows = by_codelist.get(head.code, empty)
        values = dict(zip(rows["value"], rows["code"], strict=True))
        synonyms, folded = _synonyms(rows["value"].tolist(), rows["synonyms"].tolist())
        codelists[head.value] = Codelist(
            code=head.code,
            short_name=head.value,
            name=head.codelist_name,
            extensible=head.extensible == "Yes",
            terms=values,
            synonyms=synonyms,
            folded=folded,
            displays=dict(zip(rows["value"], rows["preferred_term"], strict=True)),
        )
    return Terminology(version=version, codelists=codelists)


def _synonyms(values: list[str], synonym_lists: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Exact synonyms, and case-folded spellings that point at exactly one submission value."""
    submission = set(values)
    exact: dict[str, str] = {}
    folded: dict[str, set[str]] = {}
    for value, syns in zip(values, synonym_lists, strict=True):
        spellings = [s.strip() for s in syns.split(";") if s.strip()]
        for syn in spellings:
            if syn not in submission:
                exact.setdefault(syn, value)
        for spelling in {value, *spellings}:
            folded.setdefault(spelling.casefold(), set()).add(value)
    unique = {key: next(iter(vals)) for key, vals in folded.items() if len(vals) == 1}
    return exact, unique


@cache
def shipped_terminology() -> Terminology:
    """The curated CT subset shipped with trialbridge (same layout as the NCI EVS file)."""
    files = resources.files("trialbridge.sdtm.standards")
    text = files.joinpath("ct.tsv").read_text("utf-8")
    version = files.joinpath("ct-version.txt").read_text("utf-8").strip()
    return _build(_read_evs(StringIO(text), "ct.tsv"), version)


def load_terminology(path: Path) -> Terminology:
    """A full CDISC CT release in the NCI EVS tab-delimited 'SDTM Terminology' format."""
    if path.is_dir():
        raise UserError("is a folder", path, "give the NCI EVS SDTM Terminology file (--ct)")
    if not path.is_file():
        raise UserError(
            "terminology file not found", path, "give the NCI EVS SDTM Terminology file"
        )
    return _build(_read_evs(path, str(path)), release_of(path))


def release_of(path: Path) -> str:
    """The CT release date in the file's path (NCI EVS names carry it), else the file stem."""
    for part in (path.name, *(p.name for p in path.parents)):
        found = re.search(r"\d{4}-\d{2}-\d{2}", part)
        if found:
            return found.group()
    return path.stem


def _check_field_counts(source: Path | StringIO, name: str, fix: str) -> None:
    """Every line has as many tabs as the header (read_csv pads a short row with blanks,
    which would make its codelist vanish)."""
    raw = source.read_bytes() if isinstance(source, Path) else source.getvalue().encode()
    data = np.frombuffer(raw.rstrip(b"\r\n"), dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    tabs = np.concatenate(([0], np.cumsum(data == ord("\t"))))
    bounds = np.concatenate(([0], ends + 1, [len(data) + 1]))
    per_line = tabs[np.minimum(bounds[1:] - 1, len(data))] - tabs[bounds[:-1]]
    wrong = np.flatnonzero(per_line != per_line[0])
    if len(wrong):
        line = int(wrong[0]) + 1
        raise UserError(
            f"line {line} has {int(per_line[wrong[0]]) + 1} fields where the header has "
            f"{int(per_line[0]) + 1}",
            name,
            fix,
        )


def _read_evs(source: Path | StringIO, name: str) -> pd.DataFrame:
    fix = "use the tab-delimited 'SDTM Terminology.txt' from NCI EVS"
    try:
        frame = pd.read_csv(source, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    except UnicodeDecodeError as exc:
        raise UserError(f"byte 0x{exc.object[exc.start]:02X} is not UTF-8", name, fix) from None
    except pd.errors.EmptyDataError:
        raise UserError("the terminology file is empty", name, fix) from None
    except pd.errors.ParserError as exc:
        raise UserError(f"cannot read terminology file: {exc}", name, fix) from None
    missing = [c for c in EVS_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(
            f"not an NCI EVS terminology file: no column(s) {', '.join(missing)}", name, fix
        )
    _check_field_counts(source, name, fix)
    return frame.rename(columns=EVS_COLUMNS)[list(EVS_COLUMNS.values())].apply(
        lambda col: col.str.strip()
    )
