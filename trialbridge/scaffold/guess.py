"""What a raw table probably is: its domain (from the file name and headers), the subject,
visit and site columns, the SDTM variables its columns match, the time column beside each
date, and, for a Findings form laid out wide, the item columns to melt. The words that
decide are data (hints.csv); a guess is a proposal the draft marks for the user to check."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from trialbridge.scaffold.profile import ColumnProfile
from trialbridge.sdtm.metadata import standard_domains

FINDINGS = ("Findings", "Findings About")
_SPLIT = re.compile(r"[^a-z0-9]+")
_NUMBERED = re.compile(r"([A-Za-z]+)_?\d+")
BATTERY = 5  # the most distinct answers a coded battery's item holds


@dataclass(frozen=True)
class Hint:
    kind: str
    domain: str
    name: str
    date: bool
    words: tuple[str, ...]


@dataclass
class Guess:
    """One source table and what the draft proposes for it."""

    source: str
    file: str
    profiles: list[ColumnProfile]
    part: str | None = None  # the form an EDC export holds it as (ItemGroupDef, instrument)
    visit_names: dict[str, str] = field(default_factory=dict)  # visit code: name (EDC events)
    domain: str | None = None
    subject: ColumnProfile | None = None
    visit: ColumnProfile | None = None
    site: ColumnProfile | None = None
    variables: dict[str, ColumnProfile] = field(default_factory=dict)
    times: dict[str, ColumnProfile] = field(default_factory=dict)  # date variable -> time
    melt: list[ColumnProfile] = field(default_factory=list)

    @property
    def long(self) -> bool:
        """A Findings table with one result per row (a test code column and a result)."""
        code = self.domain or ""
        return {f"{code}TESTCD", f"{code}ORRES"} <= set(self.variables)


@cache
def hints() -> tuple[Hint, ...]:
    text = resources.files("trialbridge.scaffold").joinpath("hints.csv").read_text("utf-8")
    return tuple(
        Hint(r["kind"], r["domain"], r["name"], r["date"] == "yes", tuple(r["words"].split()))
        for r in csv.DictReader(text.splitlines())
    )


def tokens(text: str) -> list[str]:
    """A header or file name as lower-case words."""
    return [t for t in _SPLIT.split(text.lower()) if t]


def unique_names(bases: list[str], taken: tuple[str, ...] = ()) -> list[str]:
    """The names, each made unique by a number after the second of a kind (labs, labs_2) and
    after any `taken` already."""
    seen: list[str] = list(taken)
    for base in bases:
        name, number = base, 2
        while name in seen:
            name, number = f"{base}_{number}", number + 1
        seen.append(name)
    return seen[len(taken) :]


def score(words: tuple[str, ...], text: str) -> int:
    """How well `text` matches the best of `words` (0: not at all): a word matches a token
    or the whole text run together; `a+b` needs both tokens and scores 2."""
    found = tokens(text)
    joined = "".join(found)
    best = 0
    for word in words:
        parts = word.split("+")
        if all(p in found for p in parts) or (len(parts) == 1 and word == joined):
            best = max(best, len(parts))
    return best


def guess(found: Guess, title: str | None = None) -> Guess:
    """The proposals for one table; `title` is what names it (its source name, else)."""
    profiles = found.profiles
    found.subject = _role(profiles, "subject")
    found.visit = _role(profiles, "visit")
    found.site = _role(profiles, "site")
    found.domain = _domain(title or found.source, profiles, found)
    if found.domain is not None:
        _variables(found)
        _times(found)
        _melt(found)
    return found


def _role(profiles: list[ColumnProfile], role: str) -> ColumnProfile | None:
    """The column that plays `role`: the best match among those that are no date or time."""
    words = next(h.words for h in hints() if h.kind == "role" and h.name == role)
    scored = [
        (score(words, p.header), -i, p)
        for i, p in enumerate(profiles)
        if p.kind not in ("date", "time")
    ]
    best = max(scored, default=(0, 0, None), key=lambda s: (s[0], s[1]))
    return best[2] if best[0] else None


def _domain(source: str, profiles: list[ColumnProfile], found: Guess) -> str | None:
    """The domain whose words the file name holds (3 each), plus one per header that matches
    one of its variables; none when nothing matches."""
    used = {id(p) for p in (found.subject, found.visit, found.site) if p is not None}
    totals: dict[str, int] = {}
    for hint in hints():
        if hint.kind == "domain":
            totals[hint.domain] = totals.get(hint.domain, 0) + 3 * score(hint.words, source)
    for hint in (h for h in hints() if h.kind == "variable" and h.name[-3:] != "DTC"):
        hits = [p for p in profiles if id(p) not in used and score(hint.words, p.header)]
        totals[hint.domain] = totals.get(hint.domain, 0) + (1 if hits else 0)
    best = max(sorted(totals), key=lambda d: totals[d], default=None)
    return best if best is not None and totals[best] > 0 else None


def _variables(found: Guess) -> None:
    """Each column to the variable of the domain it matches best (a date variable only to a
    date column); each variable from one column: the best matches are placed first."""
    assert found.domain is not None
    used = {id(p) for p in (found.subject, found.visit, found.site) if p is not None}
    wanted = [h for h in hints() if h.kind == "variable" and h.domain == found.domain]
    pairs = [
        (_match(h, profile), c, i, h.name)
        for c, profile in enumerate(found.profiles)
        if id(profile) not in used
        for i, h in enumerate(wanted)
        if h.date == (profile.kind == "date")
    ]
    chosen: dict[int, str] = {}
    for points, column, _, variable in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if points and column not in chosen and variable not in chosen.values():
            chosen[column] = variable
    for column in sorted(chosen):
        found.variables[chosen[column]] = found.profiles[column]
    if found.site is not None and found.domain == "DM":
        found.variables.setdefault("SITEID", found.site)


def _match(hint: Hint, profile: ColumnProfile) -> int:
    """How well a column matches a variable: by its name (twice as telling), else by the text
    an EDC's metadata gives it."""
    return max(2 * score(hint.words, profile.name), score(hint.words, profile.text))


def _times(found: Guess) -> None:
    """The time column beside each date: named as the date with time for date ('Start date'
    and 'Start time', VSDAT and VSTIM), or the table's only time column."""
    times = [p for p in found.profiles if p.kind == "time"]
    for variable, date in found.variables.items():
        if not variable.endswith("DTC"):
            continue
        name = "".join(tokens(date.name))
        paired = [
            t
            for t in times
            if "".join(tokens(t.name)) in (name.replace("date", "time"), name.replace("dat", "tim"))
        ]
        if paired:
            found.times[variable] = paired[0]
    dates = [v for v in found.variables if v.endswith("DTC")]
    if len(times) == 1 and len(dates) == 1 and dates[0] not in found.times:
        found.times[dates[0]] = times[0]


def _melt(found: Guess) -> None:
    """A Findings table laid out wide: its numeric columns no role or variable took, and its
    batteries of coded answers (INCL01-INCL05 answered Y or N: three or more columns named
    alike, each with a few distinct values)."""
    meta = standard_domains().get(found.domain or "")
    if meta is None or meta.dataset_class not in FINDINGS or found.long:
        return
    taken = {id(p) for p in (found.subject, found.visit, found.site) if p is not None}
    taken |= {id(p) for p in (*found.variables.values(), *found.times.values())}
    free = [p for p in found.profiles if id(p) not in taken]
    battery = _batteries([p for p in free if p.kind == "text"])
    found.melt = [p for p in free if p.kind in ("integer", "decimal") or id(p) in battery]


def _batteries(profiles: list[ColumnProfile]) -> set[int]:
    """The columns of each battery: a stem and a number (INCL01), the stem shared by three or
    more columns, each holding at most BATTERY distinct values."""
    stems: dict[str, list[ColumnProfile]] = {}
    for profile in profiles:
        numbered = _NUMBERED.fullmatch(profile.name)
        if numbered and profile.distinct_count <= BATTERY:
            stems.setdefault(numbered.group(1).lower(), []).append(profile)
    return {id(p) for group in stems.values() if len(group) >= 3 for p in group}
