"""Print what each corpus case gives today (exit code and stderr), to review before writing
or correcting its expected `line`: python -m tests.corpus.show [FILTER]"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.corpus import test_corpus as corpus
from tests.helpers import run_cli


def main(pattern: str = "") -> None:
    chosen = [p for p in corpus.ALL if pattern in p.id]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        bases = corpus.make_bases(root / "bases")
        for param in chosen:
            case = param.values[0]
            tmp = root / "case"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            folder, out = corpus.prepare(case, bases, tmp)
            paths = {"{in}": str(folder), "{out}": str(out), "{tmp}": str(tmp)}
            args = [corpus.fill(str(a), paths) for a in case["run"]]
            result = run_cli(*args)
            line = corpus.unfill(result.stderr.rstrip("\n"), paths)
            mark = (
                "ok "
                if line == case.get("line") and result.exit_code == case.get("exit", 2)
                else "DIFF"
            )
            print(f"{mark} {param.id} exit {result.exit_code}\n    {line}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
