"""The Define-XML 2.1 content as plain data, built from the same metadata that built the
datasets. define.xml and define.html are two renderings of this one model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import pandas as pd

from trialbridge import __version__
from trialbridge.sdtm.ct import NUMERIC_RESULT, RESULT_SUFFIXES, Terminology
from trialbridge.sdtm.dataset import Column, Dataset, char_length, numeric_type
from trialbridge.sdtm.datasetjson import item_group_oid, item_oid
from trialbridge.sdtm.domain_frame import DomainSettings, Provenance
from trialbridge.sdtm.standards import rows
from trialbridge.study import Study

DESIGN = {"TS", "TA", "TE", "TV", "TI"}
DERIVED_DATASETS = {"SE", "SV", "RELREC"}
STD_IG, STD_CT = "STD.SDTMIG", "STD.CT"
CLASS_NAMES = {
    "Special-Purpose": "SPECIAL PURPOSE",
    "Events": "EVENTS",
    "Interventions": "INTERVENTIONS",
    "Findings": "FINDINGS",
    "Findings About": "FINDINGS ABOUT",
    "Trial Design": "TRIAL DESIGN",
    "Relationship": "RELATIONSHIP",
    "Study Reference": "STUDY REFERENCE",
}


@dataclass
class ItemRef:
    item_oid: str
    order: int
    mandatory: bool
    key_sequence: int | None = None
    method_oid: str | None = None
    role: str | None = None
    where_clause_oid: str | None = None


@dataclass
class Item:
    oid: str
    name: str
    label: str
    data_type: str
    length: int | None
    origin: str
    origin_source: str | None = None
    origin_description: str | None = None
    codelist_oid: str | None = None
    value_list_oid: str | None = None
    significant_digits: int | None = None


@dataclass
class ItemGroup:
    oid: str
    name: str
    label: str
    domain: str | None
    dataset_class: str
    structure: str
    repeating: bool
    reference_data: bool
    href: str
    refs: list[ItemRef]
    comment_oid: str | None = None
    non_standard: bool = False  # a sponsor-defined domain: in no standard def:StandardOID names


@dataclass
class WhereClause:
    oid: str
    item_oid: str
    values: list[str]


@dataclass
class CodeListItem:
    value: str
    nci_code: str | None
    extended: bool


@dataclass
class CodeList:
    oid: str
    name: str
    nci_code: str | None
    items: list[CodeListItem]


@dataclass
class Method:
    oid: str
    name: str
    description: str


@dataclass
class DefineModel:
    study_id: str
    title: str
    sponsor: str
    created: datetime
    ct_version: str
    sdtmig_version: str
    groups: list[ItemGroup] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    value_lists: dict[str, list[ItemRef]] = field(default_factory=dict)
    where_clauses: dict[str, WhereClause] = field(default_factory=dict)
    codelists: dict[str, CodeList] = field(default_factory=dict)
    methods: dict[str, Method] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    source_system: str = f"trialbridge {__version__}"


@cache
def _method_texts() -> dict[str, tuple[str, str]]:
    return {r["variable"]: (r["name"], r["description"]) for r in rows("methods.csv")}


class Builder:
    """Collects the model dataset by dataset."""

    def __init__(
        self,
        study: Study,
        ct: Terminology,
        created: datetime,
        specs: dict[str, DomainSettings],
        provenance: dict[str, dict[str, Provenance]],
    ):
        self.study = study
        self.ct = ct
        self.specs = specs
        self.provenance = provenance
        self.model = DefineModel(
            study_id=study.studyid,
            title=study.title,
            sponsor=study.sponsor,
            created=created,
            ct_version=ct.version,
            sdtmig_version=study.sdtmig_version,
        )

    def add(self, dataset: Dataset, href: str) -> None:
        table = dataset.table()
        refs = []
        for order, (column, var) in enumerate(
            zip(table.columns, dataset.variables, strict=True), 1
        ):
            # a result's codelist hangs on each qualitative test's value-level item instead
            codelist = None if self._by_test(dataset, column.name) else var.codelist
            item = self._item(dataset, column, codelist, var.format)
            self.model.items[item.oid] = item
            refs.append(
                ItemRef(
                    item_oid=item.oid,
                    order=order,
                    mandatory=var.core == "Req",
                    key_sequence=column.key_sequence,
                    method_oid=self._method(dataset.name, column.name)
                    if item.origin == "Derived"
                    else None,
                    role=var.role,
                )
            )
        spec = self.specs.get(dataset.name)
        comment_oid = None
        if spec is not None and spec.comment:
            comment_oid = f"COM.{dataset.name}"
            self.model.comments[comment_oid] = spec.comment
        self.model.groups.append(
            ItemGroup(
                oid=item_group_oid(dataset.name),
                name=dataset.name,
                label=dataset.label,
                domain=_domain_attribute(dataset.name),
                dataset_class=CLASS_NAMES.get(dataset.meta.dataset_class, "SPECIAL PURPOSE"),
                structure=dataset.meta.structure,
                repeating=dataset.name not in ("DM", *DESIGN),
                reference_data=dataset.name in DESIGN,
                href=href,
                refs=refs,
                comment_oid=comment_oid,
                non_standard=dataset.meta.sponsor_defined,
            )
        )
        self._value_level(dataset)

    def _item(
        self, dataset: Dataset, column: Column, codelist: str | None, fmt: str | None
    ) -> Item:
        origin, source, description = self._origin(dataset.name, column.name)
        return Item(
            oid=item_oid(dataset.name, column.name),
            name=column.name,
            label=column.label,
            data_type=_data_type(column, fmt),
            length=column.length,
            origin=origin,
            origin_source=source,
            origin_description=description,
            codelist_oid=self._codelist(codelist, dataset.frame[column.name]),
            significant_digits=_digits(dataset.frame[column.name], column),
        )

    def _origin(self, dataset: str, variable: str) -> tuple[str, str | None, str | None]:
        """(origin type, source, description) in Define-XML 2.1 terms."""
        if variable in ("STUDYID", "DOMAIN", "RDOMAIN"):
            return "Assigned", "Sponsor", None
        if dataset in DESIGN:
            return "Protocol", None, "The study definition (study.yaml)"
        base = dataset[4:] if dataset.startswith("SUPP") else dataset
        found = self.provenance.get(base, {}).get(variable)
        if found is not None and not dataset.startswith("SUPP"):
            if found.origin == "Collected":
                return "Collected", "Investigator", "; ".join(sorted(found.sources))
            return "Assigned", "Sponsor", None
        return "Derived", "Sponsor", None

    def _method(self, dataset: str, variable: str) -> str:
        texts = _method_texts()
        key = variable if variable in texts else f"--{variable[len(dataset) :]}"
        name, template = texts.get(key, ("Derivation", f"Derived by trialbridge: {variable}"))
        description = template.format(
            usubjid=f"{' + '.join(self.study.usubjid)}, joined with "
            f"'{self.study.usubjid_separator}'",
            age=_age_text(self.study),
            rule=_rule_text(self.study, variable),
        )
        oid = f"MT.{key.replace('--', '')}"
        self.model.methods.setdefault(oid, Method(oid=oid, name=name, description=description))
        return oid

    def _codelist(self, short: str | None, values: pd.Series) -> str | None:
        """A codelist with the values used (extensions marked), shared by every variable
        bound to the same CDISC codelist."""
        codelist = self.ct.get(short) if short else None
        if codelist is None:
            return None
        used = sorted(set(pd.unique(values.dropna()).astype(str)))
        if not used:
            return None
        oid = f"CL.{codelist.short_name}"
        existing = self.model.codelists.get(oid)
        known = {i.value for i in existing.items} if existing else set()
        items = [*(existing.items if existing else [])]
        for value in used:
            if value not in known:
                code = codelist.terms.get(value)
                items.append(CodeListItem(value, code, extended=code is None))
        items.sort(key=lambda i: i.value)
        self.model.codelists[oid] = CodeList(oid, codelist.name, codelist.code, items)
        return oid

    @staticmethod
    def _by_test(dataset: Dataset, variable: str) -> bool:
        """A Findings result (--ORRES, --STRESC) described test by test."""
        testcd = f"{dataset.name}TESTCD"
        return (
            dataset.meta.dataset_class == "Findings"
            and testcd in dataset.frame
            and variable in (dataset.name + s for s in RESULT_SUFFIXES)
        )

    def _value_level(self, dataset: Dataset) -> None:
        """Findings: --ORRES, --STRESC, --STRESN per test code. SUPP--: QVAL per QNAM."""
        frame = dataset.frame
        if dataset.name.startswith("SUPP") and "QNAM" in frame:
            self._value_list(dataset, "QVAL", "QNAM")
            return
        testcd = f"{dataset.name}TESTCD"
        if dataset.meta.dataset_class != "Findings" or testcd not in frame:
            return
        for suffix in ("ORRES", "STRESC", "STRESN"):
            if dataset.name + suffix in frame:
                self._value_list(dataset, dataset.name + suffix, testcd)

    def _value_list(self, dataset: Dataset, variable: str, by: str) -> None:
        """One ItemDef per value of `by` (a test code or QNAM), typed from its own values; a
        collected one names the source columns its records came from."""
        frame, lineage = dataset.frame, dataset.lineage
        parent = self.model.items[item_oid(dataset.name, variable)]
        declared = self.specs.get(dataset.name[4:]) if dataset.name.startswith("SUPP") else None
        refs = []
        codelists = {v.name: v.codelist for v in dataset.variables}
        for order, key in enumerate(sorted(frame[by].dropna().unique()), 1):
            mask = frame[by] == key
            values = frame.loc[mask, variable]
            where = f"WC.{dataset.name}.{by}.{key}"
            self.model.where_clauses[where] = WhereClause(where, item_oid(dataset.name, by), [key])
            origin, label = parent.origin, parent.label
            if declared is not None and key in declared.supplemental:
                origin, label = declared.supplemental[key].origin, declared.supplemental[key].label
            # type and length hang on the distinct values only: a test has few, in many records
            distinct = pd.Series(values.dropna().unique(), dtype=values.dtype)
            data_type = _value_type(distinct) if parent.data_type == "text" else parent.data_type
            oid = f"{parent.oid}.{key}"
            qualitative = data_type == "text" and self._by_test(dataset, variable)
            self.model.items[oid] = Item(
                oid=oid,
                name=variable,
                label=label,
                data_type=data_type,
                length=char_length(distinct) if parent.data_type == "text" else parent.length,
                origin=origin,
                origin_source="Investigator" if origin == "Collected" else "Sponsor",
                origin_description=_sources(lineage.loc[mask]) if origin == "Collected" else None,
                significant_digits=_decimals(values) if data_type == "float" else None,
                codelist_oid=self._codelist(codelists.get(variable), _terms_only(distinct))
                if qualitative
                else None,
            )
            method = self._method(dataset.name, variable) if origin == "Derived" else None
            refs.append(ItemRef(oid, order, False, method_oid=method, where_clause_oid=where))
        if not refs:  # no record names a test: nothing to describe value by value
            return
        value_list = f"VL.{dataset.name}.{variable}"
        self.model.value_lists[value_list] = refs
        parent.value_list_oid = value_list


def _sources(lineage: pd.DataFrame) -> str | None:
    """'file: column' for the distinct source cells of some records."""
    pairs = lineage.dropna(subset=["__file"]).drop_duplicates(["__file", "__column"])
    texts = [
        f"{f}: {c}" if isinstance(c, str) else f
        for f, c in zip(pairs["__file"], pairs["__column"], strict=True)
    ]
    return "; ".join(sorted(texts)) or None


def _domain_attribute(name: str) -> str | None:
    if name == "RELREC":
        return None
    return name[4:] if name.startswith("SUPP") else name


def _data_type(column: Column, fmt: str | None) -> str:
    if column.type == "Num":
        return "integer" if column.data_type == "integer" else "float"
    if fmt == "ISO8601 datetime":
        return "datetime"
    if fmt == "ISO8601 duration":
        return "durationDatetime"
    return "text"


def _terms_only(values: pd.Series) -> pd.Series:
    """A qualitative result's values without the numbers some of them are (<0.5)."""
    return values[~values.astype(str).str.fullmatch(NUMERIC_RESULT.pattern)]


def _value_type(values: pd.Series) -> str:
    """text, integer or float for a character result column, from its values."""
    numbers = pd.to_numeric(values.dropna(), errors="coerce")
    if numbers.isna().any() or numbers.empty:
        return "text"
    written_whole = not values.dropna().str.contains(".", regex=False).any()
    return "integer" if written_whole and numeric_type(numbers) == "integer" else "float"


def _decimals(values: pd.Series) -> int:
    text = pd.Series(pd.unique(values.dropna())).astype(str)
    parts = text.str.split(".", n=1).str[1].fillna("")
    return int(parts.str.len().max()) if len(parts) else 0


def _digits(values: pd.Series, column: Column) -> int | None:
    if column.type != "Num" or column.data_type == "integer":
        return None
    text = pd.Series(pd.unique(values.dropna())).map("{:.12g}".format)
    parts = text.str.split(".", n=1).str[1].fillna("")
    return int(parts.str.len().max()) if len(parts) else None


def _age_text(study: Study) -> str:
    if study.age is None:
        return "Collected."
    return f"Completed years from {study.age.birth} to {study.age.at}."


def _rule_text(study: Study, variable: str) -> str:
    rule = study.reference_dates.get(variable)
    if rule is None:
        return "Collected."
    which = "Earliest" if rule.first is not None else "Latest"
    return f"{which} complete date among {', '.join(rule.refs)} for the subject."
