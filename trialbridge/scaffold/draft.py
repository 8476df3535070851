"""A draft study folder from a folder of raw exports: the raw files copied under raw/, a
study.yaml listing them with the sites and visits found, and a mapping spec per guessed
domain. Each value the raw files cannot give is TODO (convert names every one left), and
each guess worth checking carries a `# TODO check:` comment."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trialbridge.conformance.rule import shipped_rules
from trialbridge.converters.dates import assemble
from trialbridge.converters.sources import read_source
from trialbridge.errors import UserError
from trialbridge.scaffold.edc import Export, edc_exports
from trialbridge.scaffold.guess import Guess, guess, tokens, unique_names
from trialbridge.scaffold.profile import ColumnProfile, profile
from trialbridge.scaffold.spec_text import quoted, spec_text
from trialbridge.sdtm.ct import shipped_terminology
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.study import Source
from trialbridge.yamlio import TODO

READABLE = (".csv", ".xlsx", ".xml")
# TS parameters the TS builder fills from study.yaml's own keys and the data
TS_BUILT = {"ACTSUB", "DCUTDTC", "PLANSUB", "REGID", "SDTIGVER", "SDTMVER", "SENDTC", "SPONSOR"}
TS_BUILT |= {"SSTDTC", "TITLE", "TPHASE"}
_UNSCHEDULED = ("uns", "unsch", "unscheduled", "unplanned")


@dataclass(frozen=True)
class Drafted:
    """What init wrote: the files, and the guesses they hold."""

    files: list[Path]
    guesses: list[Guess]
    todos: int


def draft(raw: Path, out: Path) -> Drafted:
    """Profile every readable file of `raw` and write the draft under `out` (new or empty)."""
    if not raw.is_dir():
        raise UserError("raw folder not found", str(raw), "give the folder of the raw exports")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(
            "the study folder exists and is not empty",
            str(out),
            "give a new folder: init never writes over a study",
        )
    files = sorted(p for p in raw.iterdir() if p.is_file() and p.suffix.lower() in READABLE)
    if not files:
        raise UserError(
            "no CSV, XLSX or ODM (XML) file in the raw folder",
            str(raw),
            "put the exports there: a form per CSV or XLSX file, a CDISC ODM export, or a "
            "REDCap project's records export with its data dictionary",
        )
    ct = shipped_terminology()
    exports = edc_exports(raw, files)
    used = {path for export in exports for path in export.files}
    plain = [p for p in files if p not in used and p.suffix.lower() != ".xml"]
    guesses, sources, tables = _edc_guesses(exports)
    names = unique_names([_base(p) for p in plain], taken=tuple(sources))
    for name, path in zip(names, plain, strict=True):
        sources[name] = Source(name=name, file=path.name)
        tables[name] = _read(path, name)
        guesses.append(guess(Guess(name, f"raw/{path.name}", profile(tables[name]))))
    _one_dm(guesses)
    out.mkdir(parents=True, exist_ok=True)
    (out / "raw").mkdir()
    copied = sorted({*plain, *used})
    for path in copied:
        shutil.copy2(path, out / "raw" / path.name)
    written = [out / "raw" / p.name for p in copied]
    specs: dict[str, str] = {}
    for domain in _domains(guesses):
        blocks = [g for g in guesses if g.domain == domain]
        specs[domain] = spec_text(domain, blocks, ct)
    (out / "mappings").mkdir()
    for domain, text in specs.items():
        target = out / "mappings" / f"{domain.lower()}.yaml"
        target.write_text(text, "utf-8")
        written.append(target)
    study = _study_text(guesses, tables, sources, list(specs))
    (out / "study.yaml").write_text(study, "utf-8")
    written.append(out / "study.yaml")
    todos = sum(_todo_count(p) for p in written if p.suffix == ".yaml")
    return Drafted(written, guesses, todos)


def _read(path: Path, name: str) -> pd.DataFrame:
    return read_source(path, Source(name=name, file=path.name), path.name)


def _base(path: Path) -> str:
    """A source name from a file name (labs_cbc.csv: labs_cbc)."""
    return "_".join(tokens(path.stem)) or "source"


def _edc_guesses(
    exports: list[Export],
) -> tuple[list[Guess], dict[str, Source], dict[str, pd.DataFrame]]:
    """A guess per form of each EDC export, read with the export's item texts and without
    its keys."""
    guesses, sources, tables = [], {}, {}
    for export in exports:
        for source in export.sources:
            table = export.tables[source.name]
            found = Guess(
                source.name,
                f"raw/{source.file}",
                profile(table, export.items, export.keys),
                part=source.item_group or source.instrument,
                visit_names=export.visits,
            )
            guesses.append(guess(found, export.titles.get(source.name)))
            sources[source.name], tables[source.name] = source, table
    return guesses, sources, tables


def _one_dm(guesses: list[Guess]) -> None:
    """DM has one record per subject: one table feeds it (the one matching most DM
    variables); another table guessed DM is left to the user (a join, most often)."""
    dm = [g for g in guesses if g.domain == "DM"]
    for other in sorted(dm, key=lambda g: -len(g.variables))[1:]:
        other.domain = None


def _domains(guesses: list[Guess]) -> list[str]:
    """The guessed domains, DM first, then in the order of their first table."""
    found = list(dict.fromkeys(g.domain for g in guesses if g.domain is not None))
    return sorted(found, key=lambda d: (d != "DM", found.index(d)))


def _todo_count(path: Path) -> int:
    return sum(line.count(f": {TODO}") for line in path.read_text("utf-8").splitlines())


def _study_text(
    guesses: list[Guess],
    tables: dict[str, pd.DataFrame],
    sources: dict[str, Source],
    specs: list[str],
) -> str:
    lines = [
        "# Draft written by `trialbridge init`: each TODO value is a decision left to you",
        "# (convert names every one left); each `TODO check` comment a guess to confirm.",
        f"studyid: {TODO}  # the study identifier (STUDYID)",
        f"title: {TODO}",
        f"sponsor: {TODO}",
        f"phase: {TODO}  # as CDISC CT TPHASE words it, e.g. PHASE II TRIAL",
        f"planned_subjects: {TODO}  # PLANSUB: the number of subjects planned",
        f"data_cutoff: {TODO}  # DCUTDTC: the date the data were cut (yyyy-mm-dd)",
        f"registry_ids: {{ClinicalTrials.gov: {TODO}}}  # REGID: the trial's registry number(s)",
        "usubjid: [STUDYID, SUBJID]",
        "sites:",
        *_sites(guesses, tables),
        *_visits(guesses, tables),
        "sources:",
        *(_source_line(sources[g.source]) + _unmapped(g) for g in guesses),
        f"domains: [{', '.join(f'{d.lower()}.yaml' for d in specs)}]",
        *_references(guesses),
        *_trial_summary(),
    ]
    return "\n".join(lines) + "\n"


def _source_line(source: Source) -> str:
    """The source as study.yaml lists it, its files under raw/."""
    given = source.model_dump(exclude_defaults=True)
    parts = [f"name: {source.name}"]
    for key, value in given.items():
        if key == "name":
            continue
        if key in ("file", "dictionary", "events"):
            value = [f"raw/{v}" for v in value] if isinstance(value, list) else f"raw/{value}"
        shown = f"[{', '.join(map(quoted, value))}]" if isinstance(value, list) else quoted(value)
        parts.append(f"{key}: {shown}")
    return f"  - {{{', '.join(parts)}}}"


def _unmapped(found: Guess) -> str:
    if found.domain is not None:
        return ""
    return "  # TODO check: no domain guessed; map it in a spec, or leave it out"


def _sites(guesses: list[Guess], tables: dict[str, pd.DataFrame]) -> list[str]:
    """The site codes of the DM table's site column, else one site to fill in."""
    dm = next((g for g in guesses if g.domain == "DM" and g.site is not None), None)
    if dm is None or dm.site is None:
        return [f"  - {{siteid: {TODO}, country: {TODO}}}  # no site column found"]
    codes = sorted(tables[dm.source][dm.site.name].dropna().astype(str).unique())
    return [
        f"  - {{siteid: {quoted(code)}, country: {TODO}}}  # ISO 3166 alpha-3, e.g. USA"
        for code in codes
    ]


def _visits(guesses: list[Guess], tables: dict[str, pd.DataFrame]) -> list[str]:
    """The visit codes found, in the order of their median day from each subject's first
    dated record; the planned days are left to the user (the median days are shown)."""
    days: dict[str, list[float]] = {}
    for found in guesses:
        if found.visit is None or found.subject is None or not _has_visits(found):
            continue
        date = next((p for p in found.profiles if p.kind == "date" and p.date_format), None)
        table = tables[found.source]
        for code, offset in _offsets(table, found.subject, found.visit, date).items():
            if found.visit_names and code not in found.visit_names:
                continue  # an EDC event that is no visit (a common log form's)
            days.setdefault(found.visit_names.get(code, code), []).append(offset)
    if not days:
        return ["visits:", f"  - {{visitnum: 1, visit: {TODO}}}  # no visit column found"]
    ordered = sorted(days, key=lambda c: (pd.Series(days[c]).median(), c))
    planned = [c for c in ordered if tokens(c)[:1] and tokens(c)[0] not in _UNSCHEDULED]
    lines = ["visits:  # the visit codes found; day: the planned study day (day 1: first dose)"]
    for number, code in enumerate(planned, 1):
        median = pd.Series(days[code]).median()
        found = (
            f"  # found: median {median:.0f} days after each subject's first"
            if median == median
            else ""
        )
        lines.append(f"  - {{visitnum: {number}, visit: {quoted(code)}, day: {TODO}}}{found}")
    unscheduled = [c for c in ordered if c not in planned]
    if unscheduled:
        lines.append(f"unscheduled_visit: {quoted(unscheduled[0])}")
    return lines


def _has_visits(found: Guess) -> bool:
    """Whether the table's domain records visits (AE, CM and the like do not)."""
    return found.domain is not None and domain_meta(found.domain).variable("VISIT") is not None


def _offsets(
    table: pd.DataFrame, subject: ColumnProfile, visit: ColumnProfile, date: ColumnProfile | None
) -> dict[str, float]:
    """Per visit code: the median number of days after each subject's first dated record
    (NaN without a date column)."""
    codes = table[visit.name].dropna().astype(str).unique()
    if date is None or date.date_format is None:
        return {str(c): float("nan") for c in codes}
    iso = assemble(table[date.name], date.date_format, []).iso
    when = pd.to_datetime(iso.where(iso.str.len() == 10), format="%Y-%m-%d", errors="coerce")
    frame = pd.DataFrame({"s": table[subject.name], "v": table[visit.name], "d": when}).dropna()
    frame["offset"] = (frame["d"] - frame.groupby("s")["d"].transform("min")).dt.days
    medians = frame.groupby("v")["offset"].median()
    return {str(c): float(medians.get(c, float("nan"))) for c in codes}


def _trial_summary() -> list[str]:
    """The TS parameters the validator expects that TS does not build itself, each TODO:
    a value, or `null_flavor:` where the study has none (the rules, kept as data, name them)."""
    expected = sorted(
        (str(rule.check.params["code"]), rule.id, rule.severity)
        for rule in shipped_rules()
        if rule.check.operation == "ts_parameter" and rule.check.params.get("code") not in TS_BUILT
    )
    lines = ["trial_summary:  # the parameters reviewers expect in TS (a value, or null_flavor)"]
    lines += [
        f"  - {{parm: {code}, value: {TODO}}}  # {rule} ({level})" for code, rule, level in expected
    ]
    return lines if expected else []


def _references(guesses: list[Guess]) -> list[str]:
    """Reference dates from the exposure dates, AGE from birth and consent, when found."""
    lines = []
    ex = next((g for g in guesses if g.domain == "EX" and "EXSTDTC" in g.variables), None)
    if ex is not None:
        lines += [
            "reference_dates:  # TODO check: the dates that define the study's reference period",
            "  RFSTDTC: {first: [EX.EXSTDTC]}",
            "  RFXSTDTC: {first: [EX.EXSTDTC]}",
            "  RFXENDTC: {last: [EX.EXSTDTC]}",
        ]
    else:
        lines.append("# TODO check: reference_dates (RFSTDTC ...): no exposure dates were found")
    dm = next((g for g in guesses if g.domain == "DM"), None)
    if dm is not None and {"BRTHDTC", "RFICDTC"} <= set(dm.variables):
        lines.append("age: {birth: BRTHDTC, at: RFICDTC, unit: YEARS}")
    return lines
