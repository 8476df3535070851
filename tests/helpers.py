"""Shared test helpers: the bundled study, CLI runs, and hand-built mapped domains."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyreadstat
from click.testing import CliRunner, Result

from trialbridge.cli import main
from trialbridge.converters.sources import COLUMN, FILE, ROW
from trialbridge.mappings.spec import DomainSpec
from trialbridge.sdtm.domain_frame import DomainFrame
from trialbridge.sdtm.metadata import domain_meta
from trialbridge.study import Study, load_study

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "fixtures" / "plmsc-spms"


def copy_study(tmp_path: Path) -> Path:
    """A private copy of the bundled study that a test may break."""
    target = tmp_path / "study"
    shutil.copytree(STUDY, target)
    return target


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def plmsc_study() -> Study:
    return load_study(STUDY).study


def mapped(domain: str, rows: list[dict[str, Any]], **spec: Any) -> DomainFrame:
    """A DomainFrame from literal rows, as the engine would hand it to derivations."""
    frame = pd.DataFrame(rows)
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("str").where(frame[name].notna())
    frame[FILE] = "raw/test.csv"
    frame[ROW] = range(2, len(frame) + 2)
    frame[COLUMN] = pd.Series(pd.NA, index=frame.index, dtype="str")
    model = DomainSpec.model_validate(
        {"domain": domain, "sources": [{"source": "test", "variables": {}}], **spec}
    )
    return DomainFrame(domain, domain_meta(domain), frame, "x.yaml", model)


def fails_with(study: Path, tmp_path: Path, expected: str) -> None:
    """`convert` refuses the study: exit 2, one line on stderr, no traceback, no output."""
    out = tmp_path / "out"
    result = run_cli("convert", study, "--out", out)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {expected}"
    assert not out.exists()


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def assert_golden(text: str, path: Path, update: bool) -> None:
    """`text` equals the reviewed golden file, line by line (the first differing line is
    named); with --update-golden the file is rewritten first."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    expected = path.read_text()
    if text != expected:
        for n, (got, want) in enumerate(
            zip(text.splitlines(), expected.splitlines(), strict=False), 1
        ):
            assert got == want, f"{path.name} line {n}"
        assert text == expected, f"{path.name} differs in length"


def html_findings(html: str) -> list[list[object]]:
    """The findings validation.html carries (its JSON data block), one list per finding:
    rule, severity, dataset, record, USUBJID, --SEQ, variable, value, change."""
    block = re.search(r"<script type='application/json' id='data'>(.*?)</script>", html, re.S)
    assert block is not None, "validation.html has no findings data block"
    return json.loads(block.group(1))["findings"]


def rewrite_xpt(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    """The XPT file read by pyreadstat, changed, written back by pyreadstat (independent of
    trialbridge's codec)."""
    frame, meta = pyreadstat.read_xport(str(path))
    frame = change(frame)
    pyreadstat.write_xport(
        frame,
        str(path),
        table_name=meta.table_name,
        file_label=meta.file_label,
        column_labels=[meta.column_names_to_labels[c] for c in frame.columns],
        file_format_version=5,
    )
