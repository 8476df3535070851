"""Rebuild trialbridge's SDTMIG tables from CDISC Library CSV exports (run by hand, not shipped).

    python scripts/build_sdtmig.py --version 3.4 \
        --ig-variables Variables.csv=SHA256 --ig-datasets Datasets.csv=SHA256 \
        --model SDTM_v2.0_Variables.csv=SHA256 --ct "SDTM Terminology.txt=SHA256"

Each input is named with the SHA-256 it must have (a different export is refused), so the
tables in trialbridge/sdtm/standards/ can be rebuilt byte for byte from the files
PROVENANCE.md names. Only factual columns are kept (no CDISC Notes prose). Keys are not in
the exports: those already in the version's datasets.csv are kept, the others follow the
natural-key convention written in `_keys` (trialbridge's own). The CT subset (ct.tsv) is
widened to every codelist the tables name, definitions left out.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from csv import QUOTE_NONE
from pathlib import Path

import pandas as pd

STANDARDS = Path(__file__).resolve().parent.parent / "trialbridge" / "sdtm" / "standards"
GENERAL = ("Interventions", "Events", "Findings", "Findings About")
TOPICS = {
    "Interventions": ("--TRT",),
    "Events": ("--TERM",),
    "Findings": ("--TESTCD", "--TEST"),
    "Findings About": ("--TESTCD", "--TEST", "--OBJ"),
}
REQUIRED = ("STUDYID", "DOMAIN", "USUBJID", "--SEQ")
FORMATS = {
    "ISO 8601 datetime or interval": "ISO8601 datetime",
    "ISO 8601 duration": "ISO8601 duration",
    "ISO 8601 duration or interval": "ISO8601 duration",
    "MedDRA": "MedDRA",
    "LOINC": "LOINC",
    "ISO 21090 NullFlavor": "ISO 21090 NullFlavor",
}
# natural keys the convention below cannot guess (trialbridge's choice, SDTMIG 3.4 ch. 3.2.1.1)
SPECIAL_KEYS = {
    "CO": "STUDYID RDOMAIN USUBJID IDVAR IDVARVAL COSEQ",
    "SM": "STUDYID USUBJID MIDS",
    "TD": "STUDYID TDORDER",
    "TM": "STUDYID MIDSTYPE",
    "OI": "NHOID OISEQ",
    "RELSUB": "STUDYID USUBJID POOLID RSUBJID SREL",
    "RELSPEC": "STUDYID USUBJID REFID",
    "TU": "STUDYID USUBJID TULNKID",
    "TR": "STUDYID USUBJID TRLNKID TRTESTCD VISITNUM",
    "IE": "STUDYID USUBJID IETESTCD",
    "DD": "STUDYID USUBJID DDTESTCD",
    "SC": "STUDYID USUBJID SCTESTCD",
    "PP": "STUDYID USUBJID PPCAT PPTESTCD PPSPEC PPRFTDTC",
}


def read(argument: str) -> pd.DataFrame:
    """A CSV/TSV export named `path=sha256`, refused unless its SHA-256 matches."""
    path, _, expected = argument.rpartition("=")
    data = Path(path).read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != expected.lower():
        sys.exit(f"{path}: SHA-256 {found}, expected {expected}")
    if path.endswith((".txt", ".tsv")):  # EVS layout: tab-separated, quotes are text
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=QUOTE_NONE)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def codelist_names(ct: pd.DataFrame) -> dict[str, str]:
    """NCI C-code of each codelist -> its short name (CDISC submission value)."""
    heads = ct[ct["Codelist Code"] == ""]
    return dict(zip(heads["Code"], heads["CDISC Submission Value"], strict=True))


def ig_variables(raw: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The IG's variable rows in trialbridge's columns; the first codelist a variable names
    is the one checked, and DOMAIN takes the SDTM Domain Abbreviation codelist. A codelist
    the CT release lacks (retired) leaves the variable without one."""
    first = raw["CDISC CT Codelist Code(s)"].str.split(";").str[0].str.strip()
    codelist = first.map(names).fillna("")
    unknown = raw.loc[(first != "") & ~first.isin(list(names)), "Variable Name"]
    if len(unknown):  # a codelist the CT release no longer has: the variable goes unchecked
        print(f"not in the CT release, left without codelist: {', '.join(unknown)}")
    codelist = codelist.mask(raw["Variable Name"] == "DOMAIN", "DOMAIN")
    return pd.DataFrame(
        {
            "domain": raw["Dataset Name"],
            "order": raw["Variable Order"].astype(int),
            "name": raw["Variable Name"],
            "label": raw["Variable Label"],
            "type": raw["Type"],
            "codelist": codelist,
            "format": raw["Described Value Domain(s)"].map(FORMATS).fillna(""),
            "role": raw["Role"],
            "core": raw["Core"],
        }
    )


def _keys(domain: str, dataset_class: str, names: set[str]) -> str:
    """STUDYID USUBJID, the topic (or its coded form), then the timing that tells records
    apart: the start date for events and interventions, visit and time point for findings."""
    if domain in SPECIAL_KEYS:
        return SPECIAL_KEYS[domain]
    p = domain

    def have(*candidates: str) -> list[str]:
        return [c for c in candidates if c in names]

    if dataset_class == "Events":
        topic = have(f"{p}DECOD") or have(f"{p}TERM")
        return " ".join(["STUDYID", "USUBJID", *topic, *have(f"{p}STDTC")])
    if dataset_class == "Interventions":
        return " ".join(["STUDYID", "USUBJID", *have(f"{p}TRT", f"{p}STDTC")])
    if dataset_class in ("Findings", "Findings About"):
        timing = have("VISITNUM", f"{p}TPTREF", f"{p}TPTNUM") or have(f"{p}DTC")
        topic = have(f"{p}TESTCD", f"{p}OBJ", f"{p}SPEC", f"{p}LOC")
        return " ".join(["STUDYID", "USUBJID", *topic, *timing])
    return " ".join(have("STUDYID", "USUBJID", f"{p}SEQ"))


def ig_datasets(raw: pd.DataFrame, variables: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    names = variables.groupby("domain")["name"].agg(set)
    frame = pd.DataFrame(
        {
            "domain": raw["Dataset Name"],
            "label": raw["Dataset Label"],
            "class": raw["Class"],
            "structure": raw["Structure"],
        }
    )
    old = dict(zip(kept["domain"], kept["keys"], strict=True))
    frame["keys"] = [
        old.get(d) or _keys(d, c, names[d])
        for d, c in zip(frame["domain"], frame["class"], strict=True)
    ]
    return frame


def class_variables(model: pd.DataFrame, ig: pd.DataFrame) -> pd.DataFrame:
    """Each general observation class's variables in SDTM order (identifiers, topic,
    qualifiers, timing), without those SDTM v2.0 keeps for nonclinical studies or names for
    given domains only. Codelist: the one most SDTMIG domains that have the variable give it."""
    model = model[model["Dataset Name"] == ""]
    usage = model["Usage Restrictions"].str.strip()
    model = model[~usage.str.contains("human clinical|only|Only", regex=True)]
    common = model[model["Class"] == "General Observations"]
    identifiers = common[common["Role"] == "Identifier"]
    timing = common[common["Role"] == "Timing"]
    parts = []
    for name in GENERAL:
        own = model[model["Class"] == ("Findings" if name == "Findings About" else name)]
        if name == "Findings About":
            obj = model[model["Class"] == "Findings About"]
            cut = own.index.get_loc(own.index[own["Variable Name"] == "--TEST"][0]) + 1
            own = pd.concat([own.iloc[:cut], obj, own.iloc[cut:]])
        rows = pd.concat([identifiers, own, timing])
        if name in ("Findings", "Findings About"):
            rows = rows[~rows["Usage Restrictions"].str.contains("Not in Findings")]
        names = rows["Variable Name"]
        parts.append(
            pd.DataFrame(
                {
                    "class": name,
                    "order": range(1, len(rows) + 1),
                    "name": names.to_numpy(),
                    "label": rows["Variable Label"].to_numpy(),
                    "type": rows["Type"].str.strip().to_numpy(),
                    "codelist": names.map(_usual_codelists(ig)).fillna("").to_numpy(),
                    "format": rows["Described Value Domain"].map(FORMATS).fillna("").to_numpy(),
                    "role": rows["Role"].to_numpy(),
                    "core": names.isin(REQUIRED + TOPICS[name]).map({True: "Req", False: "Perm"}),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _usual_codelists(ig: pd.DataFrame) -> dict[str, str]:
    """`--ROOT` (or an unprefixed name) -> the codelist more than half the IG's domains with
    that variable name."""
    two = ig["domain"].str.len() == 2
    prefixed = two & (ig["name"].str[:2] == ig["domain"])
    generic = ig["name"].where(~prefixed, "--" + ig["name"].str[2:])
    counts = pd.DataFrame({"name": generic, "codelist": ig["codelist"]})
    total = counts.groupby("name").size()
    top = counts[counts["codelist"] != ""].groupby(["name", "codelist"]).size()
    top = top.reset_index(name="n").sort_values(["name", "n"], ascending=[True, False])
    top = top.drop_duplicates("name")
    top = top[top["n"] * 2 > top["name"].map(total)]
    return dict(zip(top["name"], top["codelist"], strict=True))


def ct_subset(ct: pd.DataFrame, wanted: set[str]) -> pd.DataFrame:
    """The release's rows of the wanted codelists, in the release's order, no definitions."""
    heads = ct[ct["Codelist Code"] == ""]
    codes = set(heads.loc[heads["CDISC Submission Value"].isin(wanted), "Code"])
    rows = ct[
        ct["Code"].isin(codes) & (ct["Codelist Code"] == "") | ct["Codelist Code"].isin(codes)
    ]
    return rows.assign(**{"CDISC Definition": ""})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option in ("--ig-variables", "--ig-datasets", "--model", "--ct"):
        parser.add_argument(option, required=True, help="path=sha256")
    parser.add_argument("--version", default="3.4")
    args = parser.parse_args()
    ct = read(args.ct)
    out = STANDARDS / f"sdtmig-{args.version}"
    out.mkdir(exist_ok=True)
    variables = ig_variables(read(args.ig_variables), codelist_names(ct))
    old = out / "datasets.csv"
    kept = (
        pd.read_csv(old, dtype=str, keep_default_na=False)
        if old.exists()
        else pd.DataFrame({"domain": [], "keys": []})
    )
    datasets = ig_datasets(read(args.ig_datasets), variables, kept)
    classes = class_variables(read(args.model), variables)
    variables.to_csv(out / "variables.csv", index=False, lineterminator="\n")
    datasets.to_csv(out / "datasets.csv", index=False, lineterminator="\n")
    classes.to_csv(STANDARDS / "class_variables.csv", index=False, lineterminator="\n")
    shipped = pd.read_csv(
        STANDARDS / "ct.tsv", sep="\t", dtype=str, keep_default_na=False, quoting=QUOTE_NONE
    )
    had = set(shipped.loc[shipped["Codelist Code"] == "", "CDISC Submission Value"])
    named = set(variables["codelist"]) | set(classes["codelist"])
    subset = ct_subset(ct, (had | named) - {""})
    subset.to_csv(
        STANDARDS / "ct.tsv", sep="\t", index=False, lineterminator="\n", quoting=QUOTE_NONE
    )
    print(
        f"{len(datasets)} datasets, {len(variables)} variables, {len(classes)} class rows, "
        f"{(subset['Codelist Code'] == '').sum()} codelists ({len(subset)} CT rows)"
    )


if __name__ == "__main__":
    main()
