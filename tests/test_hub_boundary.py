"""The hub's boundary (ARCHITECTURE.md): nothing under trialbridge/sdtm imports the mapping
engine, the FHIR adapters or the validator, directly or through another module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import trialbridge

OUTSIDE = ("trialbridge.converters", "trialbridge.fhir", "trialbridge.conformance")


def test_no_sdtm_module_loads_converters_fhir_or_conformance() -> None:
    root = Path(trialbridge.__file__).parent
    modules = sorted(
        ".".join(path.relative_to(root.parent).with_suffix("").parts)
        for path in (root / "sdtm").rglob("*.py")
    )
    assert len(modules) > 40
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        f"print(sorted({{m for m in sys.modules if m.startswith({OUTSIDE!r})}}))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
