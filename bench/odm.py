"""ODM 1.3.2 reading at scale: a seeded synthetic export with up to 10 million ItemData,
parsed by the ODM source reader at three sizes, each in a fresh process for an honest peak.

Each subject has ten visits; a visit is one form with a vital-signs group (5 items) and four
repeats of a lab group (5 items): 25 ItemData per visit, 250 per subject, so 40,000 subjects
give 10,000,000 ItemData. Values cover the data types the reader checks (date, partialTime,
float, integer with a codelist, text).

Two readings per size: `tables` builds the source tables (what a convert does), `scan`
parses the same file keeping no item group. The tables grow with the data they hold; what the
parser itself holds must not grow with the file. Prints a table and writes
build/bench/odm.json."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from trialbridge.converters.odm import read_odm
from trialbridge.converters.odm_stream import stream
from trialbridge.study import Source

VISITS = 10
LAB_REPEATS = 4
PER_SUBJECT = VISITS * (1 + LAB_REPEATS) * 5
BLOCK = 500  # subjects generated and written together

METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileType="Snapshot"
     FileOID="BENCH.{items}" CreationDateTime="2022-02-15T09:00:00">
  <Study OID="S.BENCH">
    <GlobalVariables>
      <StudyName>BENCH</StudyName>
      <StudyDescription>Synthetic ODM export for the reader benchmark</StudyDescription>
      <ProtocolName>BENCH</ProtocolName>
    </GlobalVariables>
    <MetaDataVersion OID="MDV.1" Name="Bench">
      <Protocol>{event_refs}</Protocol>
{event_defs}
      <FormDef OID="F.VISIT" Name="Visit" Repeating="No">
        <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="No"/>
        <ItemGroupRef ItemGroupOID="IG.LB" Mandatory="No"/>
      </FormDef>
      <ItemGroupDef OID="IG.VS" Name="Vital signs" Repeating="No">
        <ItemRef ItemOID="I.VSDAT" Mandatory="Yes"/>
        <ItemRef ItemOID="I.VSTIM" Mandatory="No"/>
        <ItemRef ItemOID="I.SYSBP" Mandatory="No"/>
        <ItemRef ItemOID="I.POS" Mandatory="No"/>
        <ItemRef ItemOID="I.VSCOM" Mandatory="No"/>
      </ItemGroupDef>
      <ItemGroupDef OID="IG.LB" Name="Labs" Repeating="Yes">
        <ItemRef ItemOID="I.LBDAT" Mandatory="Yes"/>
        <ItemRef ItemOID="I.LBTEST" Mandatory="Yes"/>
        <ItemRef ItemOID="I.LBRES" Mandatory="No"/>
        <ItemRef ItemOID="I.LBUNIT" Mandatory="No"/>
        <ItemRef ItemOID="I.LBFAST" Mandatory="No"/>
      </ItemGroupDef>
      <ItemDef OID="I.VSDAT" Name="vsdat" DataType="date"/>
      <ItemDef OID="I.VSTIM" Name="vstim" DataType="partialTime"/>
      <ItemDef OID="I.SYSBP" Name="sysbp" DataType="float" SignificantDigits="0"/>
      <ItemDef OID="I.POS" Name="pos" DataType="integer" Length="1">
        <CodeListRef CodeListOID="CL.POS"/>
      </ItemDef>
      <ItemDef OID="I.VSCOM" Name="vscom" DataType="text" Length="200"/>
      <ItemDef OID="I.LBDAT" Name="lbdat" DataType="date"/>
      <ItemDef OID="I.LBTEST" Name="lbtest" DataType="text" Length="8"/>
      <ItemDef OID="I.LBRES" Name="lbres" DataType="float" SignificantDigits="1"/>
      <ItemDef OID="I.LBUNIT" Name="lbunit" DataType="text" Length="20"/>
      <ItemDef OID="I.LBFAST" Name="lbfast" DataType="integer" Length="1">
        <CodeListRef CodeListOID="CL.NY"/>
      </ItemDef>
      <CodeList OID="CL.POS" Name="Position" DataType="integer">
        <CodeListItem CodedValue="1">
          <Decode><TranslatedText>Sitting</TranslatedText></Decode>
        </CodeListItem>
        <CodeListItem CodedValue="2">
          <Decode><TranslatedText>Supine</TranslatedText></Decode>
        </CodeListItem>
      </CodeList>
      <CodeList OID="CL.NY" Name="No Yes" DataType="integer">
        <CodeListItem CodedValue="0">
          <Decode><TranslatedText>No</TranslatedText></Decode>
        </CodeListItem>
        <CodeListItem CodedValue="1">
          <Decode><TranslatedText>Yes</TranslatedText></Decode>
        </CodeListItem>
      </CodeList>
    </MetaDataVersion>
  </Study>
  <ClinicalData StudyOID="S.BENCH" MetaDataVersionOID="MDV.1">
"""
TESTS = [("HGB", "g/dL"), ("WBC", "10^9/L"), ("PLAT", "10^9/L"), ("CREAT", "mg/dL")]


def write_export(path: Path, subjects: int, seed: int = 20211) -> int:
    """Write the synthetic export; returns the number of ItemData written."""
    rng = np.random.default_rng(seed)
    events = [f"SE.V{v:02d}" for v in range(1, VISITS + 1)]
    with path.open("w", encoding="utf-8") as out:
        out.write(
            METADATA.format(
                items=subjects * PER_SUBJECT,
                event_refs="".join(
                    f'<StudyEventRef StudyEventOID="{e}" OrderNumber="{i}" Mandatory="Yes"/>'
                    for i, e in enumerate(events, 1)
                ),
                event_defs="\n".join(
                    f'      <StudyEventDef OID="{e}" Name="Visit {i}" Repeating="No" '
                    f'Type="Scheduled"><FormRef FormOID="F.VISIT" Mandatory="Yes"/>'
                    "</StudyEventDef>"
                    for i, e in enumerate(events, 1)
                ),
            )
        )
        for start in range(0, subjects, BLOCK):
            _write_block(out, rng, range(start, min(start + BLOCK, subjects)), events)
        out.write("  </ClinicalData>\n</ODM>\n")
    return subjects * PER_SUBJECT


def _write_block(out: TextIO, rng: np.random.Generator, block: range, events: list[str]) -> None:
    """Values for a block of subjects drawn as arrays, then written as text."""
    n = len(block) * VISITS
    day = np.datetime64("2021-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    dates = day.astype(str)
    times = [
        f"{h:02d}:{m:02d}"
        for h, m in zip(rng.integers(7, 18, n), rng.integers(0, 60, n), strict=True)
    ]
    sysbp = rng.normal(125, 12, n).round().astype(int).astype(str)
    position = rng.integers(1, 3, n).astype(str)
    results = rng.normal(10, 3, (n, LAB_REPEATS)).round(1).astype(str)
    fasting = rng.integers(0, 2, (n, LAB_REPEATS)).astype(str)
    parts: list[str] = []
    for s, subject in enumerate(block):
        parts.append(f'    <SubjectData SubjectKey="{subject + 1:06d}">\n')
        parts.append(f'      <SiteRef LocationOID="{subject % 40 + 1:02d}"/>\n')
        for v, event in enumerate(events):
            i = s * VISITS + v
            parts.append(
                f'      <StudyEventData StudyEventOID="{event}">\n'
                '        <FormData FormOID="F.VISIT">\n'
                '          <ItemGroupData ItemGroupOID="IG.VS">\n'
                f'            <ItemData ItemOID="I.VSDAT" Value="{dates[i]}"/>\n'
                f'            <ItemData ItemOID="I.VSTIM" Value="{times[i]}"/>\n'
                f'            <ItemData ItemOID="I.SYSBP" Value="{sysbp[i]}"/>\n'
                f'            <ItemData ItemOID="I.POS" Value="{position[i]}"/>\n'
                '            <ItemData ItemOID="I.VSCOM" Value="Taken after 5 minutes rest"/>\n'
                "          </ItemGroupData>\n"
            )
            for r, (test, unit) in enumerate(TESTS):
                parts.append(
                    f'          <ItemGroupData ItemGroupOID="IG.LB" ItemGroupRepeatKey="{r + 1}">\n'
                    f'            <ItemData ItemOID="I.LBDAT" Value="{dates[i]}"/>\n'
                    f'            <ItemData ItemOID="I.LBTEST" Value="{test}"/>\n'
                    f'            <ItemData ItemOID="I.LBRES" Value="{results[i, r]}"/>\n'
                    f'            <ItemData ItemOID="I.LBUNIT" Value="{unit}"/>\n'
                    f'            <ItemData ItemOID="I.LBFAST" Value="{fasting[i, r]}"/>\n'
                    "          </ItemGroupData>\n"
                )
            parts.append("        </FormData>\n      </StudyEventData>\n")
        parts.append("    </SubjectData>\n")
    out.write("".join(parts))


def read_once(path: Path, mode: str) -> dict[str, Any]:
    """One reading, in this process: seconds, peak RSS and what the tables hold."""
    wanted = ["IG.VS", "IG.LB"] if mode == "tables" else []
    sources = [Source(name=g, file=path.name, item_group=g) for g in wanted]
    start = time.perf_counter()
    if sources:
        tables = read_odm(path.parent, sources)
        held = sum(int(t.memory_usage(deep=True).sum()) for t in tables.values())
        rows = sum(len(t) for t in tables.values())
    else:
        stream(path, path.name, set())
        held, rows = 0, 0
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "tables_mb": held / 2**20, "records": rows}


def _child(path: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.odm", "--read", str(path), "--mode", mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000_000, help="ItemData at full size")
    parser.add_argument("--dir", type=Path, default=Path("build/bench/odm"))
    parser.add_argument("--out", type=Path, default=Path("build/bench/odm.json"))
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="tables", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        print(json.dumps(read_once(args.read, args.mode)))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    results = []
    for share in (0.1, 0.3, 1.0):
        subjects = max(1, round(args.items * share / PER_SUBJECT))
        path = args.dir / f"export-{subjects}.odm.xml"
        start = time.perf_counter()
        items = write_export(path, subjects)
        written = time.perf_counter() - start
        row = {"item_data": items, "file_mb": path.stat().st_size / 2**20, "write_s": written}
        for mode in ("scan", "tables"):
            row[mode] = _child(path, mode)
        results.append(row)
        path.unlink()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    _print(results)


def _print(results: list[dict[str, Any]]) -> None:
    print("ODM reading (ItemData/s; peak RSS of a fresh process; tables = what they hold)")
    print(
        f"{'ItemData':>11} {'file MB':>8} {'scan s':>7} {'scan MB':>8} {'read s':>7} "
        f"{'ItemData/s':>11} {'peak MB':>8} {'tables MB':>9} {'peak-tables':>11}"
    )
    for row in results:
        scan, tables = row["scan"], row["tables"]
        print(
            f"{row['item_data']:>11,} {row['file_mb']:>8.0f} {scan['seconds']:>7.1f} "
            f"{scan['peak_mb']:>8.0f} {tables['seconds']:>7.1f} "
            f"{row['item_data'] / tables['seconds']:>11,.0f} {tables['peak_mb']:>8.0f} "
            f"{tables['tables_mb']:>9.0f} {tables['peak_mb'] - tables['tables_mb']:>11.0f}"
        )


if __name__ == "__main__":
    main()
