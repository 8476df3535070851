"""Command line: thin wrappers that parse options, call the API and print results."""

from __future__ import annotations

import errno
import os
import sys
import threading
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from trialbridge import __version__, api
from trialbridge.errors import UserError
from trialbridge.fhir.parse import Parsed
from trialbridge.fhir.server.connect import KINDS, Access
from trialbridge.fhir.zones import EVERY_SITE
from trialbridge.sdtm.printable import printable
from trialbridge.timezones import known_zone

EXIT_USER = 2
EXIT_INTERNAL = 1
CT_OPTION = click.option(
    "--ct",
    "ct_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A CDISC CT release (NCI EVS 'SDTM Terminology.txt') to use instead of the shipped one.",
)


DEBUG_ENV = "TRIALBRIDGE_DEBUG"
_OS_FIXES = {
    errno.EACCES: "fix its permissions or choose another path",
    errno.EPERM: "fix its permissions or choose another path",
    errno.EROFS: "the file system is read-only; choose another place",
    errno.ENOSPC: "free some disk space or choose another place",
    errno.EDQUOT: "free some disk space or choose another place",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.EISDIR: "a folder is where a file should be; fix the path",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.ENOENT: "check the path",
}


class _Group(click.Group):
    """Turn UserError into one line on stderr and exit 2; anything else into exit 1, with
    the traceback only under --debug (or TRIALBRIDGE_DEBUG=1)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _UsageLine(exc) from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            with warnings.catch_warnings():
                if not _debugging():  # a library's warning would be a line under the command's
                    warnings.simplefilter("ignore")
                return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(EXIT_USER)
        except click.UsageError as exc:
            raise _UsageLine(exc) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted: earlier output is left as it was", err=True)
            sys.exit(130)
        except OSError as exc:
            if exc.errno not in _OS_FIXES or not exc.filename:
                _internal(exc)
            click.echo(f"error: {exc.filename}: {exc.strerror}; {_OS_FIXES[exc.errno]}", err=True)
            sys.exit(EXIT_USER)
        except Exception as exc:
            _internal(exc)


class _UsageLine(click.ClickException):
    """A command line mistake as the one line every bad input gets (click prints usage)."""

    exit_code = EXIT_USER

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message())
        path = error.ctx.command_path if error.ctx else "trialbridge"
        self.help = f"{path} --help"

    def show(self, file: Any = None) -> None:
        message = " ".join(self.format_message().split()).rstrip(".")
        click.echo(f"error: {message}; see '{self.help}'", err=True)


def _internal(exc: BaseException) -> NoReturn:
    """An internal failure: one line, or the whole traceback under --debug."""
    if _debugging():
        traceback.print_exception(exc, file=sys.stderr)
    detail = " ".join(str(exc).split())[:300]
    hint = "" if _debugging() else "; run again with --debug for the traceback, and report it"
    click.echo(f"internal error: {type(exc).__name__}: {detail}{hint}", err=True)
    sys.exit(EXIT_INTERNAL)


def _debugging() -> bool:
    context = click.get_current_context(silent=True)
    root = context.find_root() if context else None
    flag = bool(root and root.params.get("debug"))
    return flag or os.environ.get(DEBUG_ENV, "") not in ("", "0")


_TIMEZONE = click.option(
    "--timezone",
    multiple=True,
    help="The sites' IANA time zone, for date-times' UTC offsets: ZONE for every site, or "
    "SITEID=ZONE (repeatable). Without one, a date-time's time stays in an extension.",
)


@click.group(cls=_Group, name="trialbridge")
@click.version_option(__version__, prog_name="trialbridge")
@click.option(
    "--debug", is_flag=True, help=f"Show the traceback of an internal error (or set {DEBUG_ENV}=1)."
)
def main(debug: bool) -> None:
    """trialbridge turns a clinical trial's native records into CDISC SDTM datasets.

    A study folder holds study.yaml (identity, design, visits, sources), mappings/*.yaml
    (one declarative spec per domain) and the native record files. Exit codes: 0 success,
    2 bad input or spec (one line says what, where and how to fix; when there are several
    problems, the line names a file listing them all), 1 internal failure.
    """


@main.command()
@click.argument("study_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder; datasets go to OUT/sdtm/<domain>.xpt.",
)
@CT_OPTION
@click.option(
    "--format",
    "formats",
    default="xpt",
    show_default=True,
    help="Comma-separated output formats: xpt (SAS XPORT v5), json and ndjson (Dataset-JSON "
    "1.1), fhir (FHIR R4 bundles and NDJSON in OUT/fhir, with each record's source row).",
)
def convert(study_dir: Path, out_dir: Path, ct_file: Path | None, formats: str) -> None:
    """Convert STUDY_DIR's native records into SDTM datasets (XPT v5 and/or Dataset-JSON)."""
    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    result = api.convert(study_dir, out_dir, ct_file, chosen)
    rows = [
        (ds.name, len(ds.frame), len(ds.variables), ds.subjects) for ds in result.datasets.values()
    ]
    click.echo(_table(("domain", "records", "variables", "subjects"), rows))
    click.echo(f"wrote {len(result.files)} files under {out_dir} (CT {result.terminology})")
    click.echo(f"reconciliation: {result.reconciled} (see {out_dir / 'reconciliation.csv'})")
    for gap in result.left_empty:
        click.echo(f"warning: {gap.line()}")
    if result.sponsor_terms:
        click.echo(
            f"define.xml declares {result.sponsor_terms} sponsor terms outside CDISC CT"
            f' (ExtendedValue="Yes"; listed in {out_dir / "sdtm" / "define.html"})'
        )
    by = Counter(f.severity for f in result.findings)
    counts = ", ".join(f"{by.get(s, 0)} {s.lower()}" for s in ("Reject", "Error", "Warning"))
    click.echo(f"validation: {counts} (see {out_dir / 'validation'})")


@main.group()
def fhir() -> None:
    """SDTM <-> HL7 FHIR R4 through trialbridge's mapping tables."""


@fhir.command("build")
@click.argument("sdtm_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder: bundles/bundle-NNNN.json and ndjson/<Type>.ndjson.",
)
@click.option(
    "--bundle-size",
    default=500,
    show_default=True,
    type=click.IntRange(1),
    help="Entries per transaction bundle.",
)
@_TIMEZONE
def fhir_build(sdtm_dir: Path, out_dir: Path, bundle_size: int, timezone: tuple[str, ...]) -> None:
    """Build FHIR R4 resources from the SDTM datasets in SDTM_DIR."""
    result = api.fhir_build(sdtm_dir, out_dir, bundle_size, _zones(timezone))
    rows = [(name, count) for name, count in result.resources.items()]
    click.echo(_table(("domain", "resources"), rows))
    if result.skipped:
        click.echo(f"no FHIR mapping yet for: {', '.join(result.skipped)}")
    click.echo(f"wrote {len(result.files)} files to {out_dir}")


def _zones(given: tuple[str, ...]) -> dict[str, str]:
    """--timezone values: ZONE (every site) or SITEID=ZONE, each zone an IANA name."""
    zones = {}
    for text in given:
        site, _, name = text.rpartition("=")
        if not known_zone(name):
            raise UserError(
                f"'{printable(name)}' is not an IANA time zone",
                "--timezone",
                "give ZONE or SITEID=ZONE, with a zone such as Asia/Tehran or America/New_York",
            )
        zones[site or EVERY_SITE] = name
    return zones


@fhir.command("to-sdtm")
@click.argument("fhir_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder for the SDTM XPT files.",
)
def fhir_to_sdtm(fhir_dir: Path, out_dir: Path) -> None:
    """Rebuild SDTM datasets (XPT) from FHIR resources in FHIR_DIR (NDJSON or bundles)."""
    _print_parsed(api.fhir_to_sdtm(fhir_dir, out_dir))


def _print_parsed(parsed: Parsed) -> None:
    """The datasets written, and what the FHIR input held besides them."""
    rows = [(d.name, len(d.frame), len(d.variables)) for d in parsed.datasets.values()]
    click.echo(_table(("domain", "records", "variables"), rows))
    if parsed.not_converted:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(parsed.not_converted.items()))
        click.echo(f"not converted (no SDTM mapping): {counts}")
    if parsed.no_input:
        names = ", ".join(sorted(parsed.no_input))
        click.echo(f"no records in the input, earlier files left as they were: {names}")
    if parsed.duplicates:
        click.echo(f"identical copies read once: {parsed.duplicates}")
    if parsed.other_studies:
        click.echo(f"resources of other studies, left out: {parsed.other_studies}")
    if parsed.undefined:
        names = ", ".join(sorted(parsed.undefined))
        click.echo(f"no dataset definition (Basic), variables and labels from SDTMIG: {names}")


def _server_options(command: Callable[..., None]) -> Callable[..., None]:
    """--server and how to authenticate; secrets only by environment variable or file."""
    options = [
        click.option(
            "--server",
            "url",
            required=True,
            help="FHIR base URL; a user:password@ in it is used as Basic auth (with --auth none).",
        ),
        click.option("--auth", "kind", type=click.Choice(KINDS), default="none", show_default=True),
        click.option("--user", help="basic: the user name."),
        click.option(
            "--token-env",
            help="Environment variable holding the bearer token, password or client secret.",
        ),
        click.option(
            "--token-file",
            type=click.Path(path_type=Path),
            help="File whose first line is the bearer token, password or client secret (the "
            "rest is ignored).",
        ),
        click.option("--client-id", help="client-credentials, smart: the registered client."),
        click.option(
            "--key-file",
            type=click.Path(path_type=Path),
            help="smart: the client's private key (PEM; RSA signs RS384, EC signs ES384).",
        ),
        click.option("--kid", help="smart: the key id the server knows the key by."),
        click.option("--token-url", help="client-credentials, smart: the token endpoint."),
        click.option("--scope", default="system/*.*", show_default=True),
        click.option(
            "--ca-bundle",
            type=click.Path(path_type=Path),
            help="PEM file of the CA that signed the server's certificate.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _access(options: dict[str, object]) -> Access:
    fields = ("url", "kind", "user", "token_env", "token_file", "client_id", "key_file")
    fields += ("kid", "token_url", "scope", "ca_bundle")
    return Access(**{name: options.pop(name) for name in fields})  # type: ignore[arg-type]


@fhir.command("push")
@click.argument("fhir_dir", type=click.Path(path_type=Path))
@_server_options
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--fail-fast", is_flag=True, help="Stop at the first resource the server refuses.")
def fhir_push(fhir_dir: Path, workers: int, fail_fast: bool, **options: object) -> None:
    """Send the transaction bundles in FHIR_DIR to a FHIR server (resumable: run it again)."""
    size = api.push_size(fhir_dir)
    server = api.fhir_connect(_access(options), workers)  # credentials checked before output
    lock = threading.Lock()
    try:
        with click.progressbar(length=size, label="pushing", file=sys.stderr) as bar:

            def advance(entries: int) -> None:
                with lock:
                    bar.update(entries)

            summary = api.fhir_push(fhir_dir, server, workers, fail_fast, advance)
    finally:
        server.close()
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"bundles {summary.bundles} sent, {summary.skipped} already done; resources sent "
        f"{summary.sent}: created {summary.created}, updated {summary.updated}, failed "
        f"{summary.failed}; {summary.retries} retries; {summary.seconds:.1f} s "
        f"({rate:,.0f} resources/s)"
    )
    for failure in summary.failures[:20]:
        click.echo(f"  refused: {failure}")
    if summary.failed:
        sys.exit(EXIT_INTERNAL)


@fhir.command("pull")
@_server_options
@click.option("--study", "study_id", required=True, help="STUDYID of the study to get back.")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="SDTM XPT folder."
)
@click.option(
    "--include-foreign",
    is_flag=True,
    help="Import the Observations other systems wrote for the study's subjects (found by "
    "$export) as records of the dataset their code names; the rest are counted.",
)
def fhir_pull(study_id: str, out_dir: Path, include_foreign: bool, **options: object) -> None:
    """Get a study's resources from a FHIR server ($export, else search) and write its SDTM."""
    parsed = api.fhir_pull(_access(options), study_id, out_dir, include_foreign)
    _print_parsed(parsed)
    if parsed.imported:
        click.echo(
            f"resources other systems wrote, imported: {parsed.imported} (SUPP-- QNAM FHIRID "
            "names each one's resource)"
        )
    if parsed.foreign:
        counts = ", ".join(f"{kind} {n}" for kind, n in parsed.foreign.items())
        how = "" if include_foreign else "; import them with --include-foreign"
        placed = "that no dataset takes, " if include_foreign else ""
        click.echo(
            f"resources other systems wrote for the study's subjects {placed}left out: "
            f"{counts}{how}"
        )
    if not parsed.exported:
        click.echo(
            "the server has no Bulk Data $export: resources other systems wrote for the "
            "study's subjects (without the study tag) were not looked for"
        )


@fhir.command("tables")
def fhir_tables() -> None:
    """Print the SDTM <-> FHIR mapping, variable by variable, as Markdown."""
    from trialbridge.fhir.docs import render

    click.echo(render(), nl=False)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    default="validation",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the reports (validation.json, .html, .xlsx), written together.",
)
@CT_OPTION
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="An earlier run's validation.json: the reports then say which findings are new, "
    "which unchanged and which resolved.",
)
@click.option(
    "--profile",
    type=click.Choice(["fda", "pmda", "core"]),
    help="Run the checks and severities of that validator: Pinnacle 21's FDA configuration "
    "(fda), PMDA's validation rules (pmda) or CDISC CORE (core); all rules by default.",
)
def validate(
    path: Path, out_dir: Path, ct_file: Path | None, baseline: Path | None, profile: str | None
) -> None:
    """Check the SDTM datasets in PATH (XPT or Dataset-JSON, any source, against its
    define.xml when there is one), or a FHIR output folder (FHIR R4 checks, then the SDTM it
    carries), against trialbridge's conformance rules. Exit 1 when a Reject or Error is found."""
    from trialbridge.conformance.report_json import summary

    validated = api.validate(path, out_dir, ct_file, baseline, profile)
    findings = validated.findings
    for file, why in api.skipped_files(path):
        click.echo(f"not read: {file.name} ({why})")
    rows = [(r["rule"], r["severity"], r["count"], r["message"]) for r in summary(findings)]
    click.echo(_table(("rule", "severity", "count", "message"), rows) if rows else "no findings")
    if validated.comparison is not None:
        counts = ", ".join(f"{n:,} {kind}" for kind, n in validated.comparison.counts().items())
        click.echo(f"against {baseline}: {counts}")
    click.echo(f"reports: validation.json, validation.html, validation.xlsx in {out_dir}")
    if any(f.severity in ("Reject", "Error") for f in findings):
        sys.exit(EXIT_INTERNAL)


@main.command()
@click.argument("sdtm_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder for the completed datasets (XPT); may be SDTM_DIR itself.",
)
@click.option(
    "--baseline-at",
    default="RFXSTDTC",
    show_default=True,
    help="The DM date a baseline is the last result on or before.",
)
def derive(sdtm_dir: Path, out_dir: Path, baseline_at: str) -> None:
    """Fill in the derived variables the SDTM datasets in SDTM_DIR lack: DM reference dates,
    --DY/--STDY/--ENDY, VISITNUM (from SV and TV), EPOCH (from SE) and --LOBXFL. Values the
    files hold are never changed."""
    result = api.derive(sdtm_dir, out_dir, baseline_at)
    rows = [(f.dataset, f.variable, f.filled, f.empty) for f in result.filled]
    click.echo(
        _table(("dataset", "variable", "filled", "empty"), rows) if rows else "nothing to fill"
    )
    for line in result.filled:
        if not line.added:
            click.echo(
                f"warning: {line.dataset}.{line.variable} is not added to its {line.empty:,} "
                f"records: {line.why_empty}"
            )
        elif line.why_empty:
            click.echo(
                f"warning: {line.dataset}.{line.variable} is empty on {line.empty} "
                f"records: {line.why_empty}"
            )
    click.echo(f"wrote {len(result.datasets)} datasets to {out_dir}")


@main.command("test")
@click.argument("study_dir", type=click.Path(path_type=Path))
@CT_OPTION
def test_specs(study_dir: Path, ct_file: Path | None) -> None:
    """Run the spec tests beside STUDY_DIR's specs: mappings/<spec>.test.yaml.

    Each case gives source rows and the records they must give. Exit 0 when every case
    passes; 1 with each difference (dataset, record, variable) otherwise."""
    outcomes = api.spec_tests(study_dir, ct_file)
    if not outcomes:
        click.echo("no spec tests: write mappings/<spec>.test.yaml beside a spec")
        return
    failed = [o for o in outcomes if o.differences]
    for outcome in outcomes:
        verdict = "FAILED" if outcome.differences else "passed"
        click.echo(f"{outcome.where}: {outcome.name}: {verdict}")
        for difference in outcome.differences:
            click.echo(f"  {difference}")
    click.echo(f"{len(outcomes) - len(failed)} of {len(outcomes)} cases passed")
    if failed:
        sys.exit(EXIT_INTERNAL)


@main.command()
@click.argument("raw_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="The study folder to create (new or empty).",
)
def init(raw_dir: Path, out_dir: Path) -> None:
    """Draft a study folder from RAW_DIR's exports: CSV, XLSX, CDISC ODM or REDCap.

    Profiles every column (kinds, distinct values, date formats, units in headers), then
    writes raw/ (the files), study.yaml (sources, sites, visits found) and a spec per
    guessed domain (columns matched to variables, coded values recoded to CDISC CT
    candidates, wide forms melted). TODO values are decisions left to you: convert names
    each one left."""
    from trialbridge.scaffold.draft import draft

    drafted = draft(raw_dir, out_dir)
    for found in drafted.guesses:
        where = found.file if found.part is None else f"{found.file} {found.part}"
        if found.domain is None:
            click.echo(f"{where}: no domain guessed")
            continue
        matched = len(found.variables) + len(found.melt)
        click.echo(f"{where}: {found.domain}, {matched} of {len(found.profiles)} columns placed")
    click.echo(
        f"wrote {len(drafted.files)} files under {out_dir}; {drafted.todos} TODO values left "
        "(convert lists them)"
    )


@main.command()
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.argument("domain")
@click.argument("usubjid")
@click.argument("seq")
@click.argument("variable", required=False)
def explain(out_dir: Path, domain: str, usubjid: str, seq: str, variable: str | None) -> None:
    """Where a record of a convert's output came from, or one of its values.

    OUT_DIR is the folder `convert --out` wrote. SEQ is the record's --SEQ; in a dataset
    without one (DM, SUPP--, RELREC, SV), the record's number among the subject's records;
    in one of no subject (TS, TA, ...), give - for USUBJID and the record's number. Prints
    the source file, row and column; each variable's origin and the spec line that set it;
    for a derived one its method and the values it was derived from, or why it is empty; and
    the FHIR resource the record becomes."""
    from trialbridge.explain import explain as lines

    for line in lines(out_dir, domain, usubjid, seq, variable):
        click.echo(line)


@main.command()
def rules() -> None:
    """Print the conformance rules as a Markdown table (docs/rules.md)."""
    from trialbridge.conformance.docs import render

    click.echo(render(), nl=False)


@main.command()
@click.argument("sdtm_dir", type=click.Path(path_type=Path))
@click.option("--gaps", is_flag=True, help="Name the variables no standard FHIR element holds.")
@_TIMEZONE
def roundtrip(sdtm_dir: Path, gaps: bool, timezone: tuple[str, ...]) -> None:
    """SDTM -> FHIR -> SDTM for the datasets in SDTM_DIR, every record and variable compared.

    Exit 0 when nothing was lost; 1 with the first differences otherwise. `in extensions`
    counts the variables that travel only in trialbridge's documented extensions."""
    results, skipped = api.roundtrip(sdtm_dir, _zones(timezone))
    rows = [
        (r.domain, r.records, r.variables, len(r.in_extensions), len(r.differences))
        for r in results
    ]
    header = ("domain", "records", "variables", "in extensions", "differences")
    click.echo(_table(header, rows))
    if skipped:
        click.echo(f"not converted (no FHIR mapping yet): {', '.join(skipped)}")
    if gaps:
        for result in results:
            click.echo(f"  {result.domain}: {' '.join(result.in_extensions) or '-'}")
    lost = [d for r in results for d in r.differences]
    if lost:
        for difference in lost[:10]:
            click.echo(f"  {difference.line()}")
        sys.exit(EXIT_INTERNAL)
    click.echo(f"lossless: {len(results)} domains")


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
