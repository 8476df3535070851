"""The study definition (study.yaml): identity, design, visits, reference-date rules, sources."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trialbridge.errors import UserError
from trialbridge.sdtm.metadata import DEFAULT_VERSION, check_version
from trialbridge.sdtm.printable import printable
from trialbridge.sdtm.trial_design import study_datasets
from trialbridge.sdtm.trial_design.study_datasets import Row as StudyRow
from trialbridge.timezones import known_zone
from trialbridge.yamlio import Lines, line_of, read_yaml, validate


def _iso_text(value: object) -> object:
    """YAML reads 2022-01-31 as a date; keep such values as ISO 8601 text."""
    return value.isoformat() if isinstance(value, date) else value


IsoText = Annotated[str, BeforeValidator(_iso_text)]
# a number that is a number: NaN and infinity are refused
Finite = Annotated[float, Field(allow_inf_nan=False)]
GramsPerMole = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# days from a reference date: a century either way holds any trial
Days = Annotated[int, Field(ge=-36_500, le=36_500)]
_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _iso_date(text: str) -> bool:
    """A date of the calendar as yyyy, yyyy-mm or yyyy-mm-dd (a partial date is one)."""
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat((text + "-01-01")[:10])
    except ValueError:
        return False
    return True


_VAR_REF = re.compile(r"^(\*|[A-Z][A-Z0-9]{1,7})\.(--[A-Z0-9]{1,6}|[A-Z][A-Z0-9]{0,7})$")


class Strict(BaseModel):
    """Base for spec models: unknown keys are errors, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """A native record table: one export file and how to read it.

    CSV and XLSX exports hold one form each. An EDC export holds every form: a source then
    names the part it reads (an ODM ItemGroupDef OID, a REDCap instrument), and the export is
    parsed once for all the sources that read it."""

    name: str
    file: str
    format: Literal["csv", "xlsx", "odm", "redcap"] | None = None
    sheet: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    missing: list[str] = Field(default_factory=lambda: [""])
    item_group: str | None = Field(default=None, description="ODM: the ItemGroupDef OID read")
    table: Literal["subjects"] | None = Field(
        default=None, description="ODM: 'subjects' reads one row per subject instead of a group"
    )
    metadata: str | None = Field(
        default=None, description="ODM: a file holding the MetaDataVersion, when `file` has none"
    )
    split: list[str] = Field(
        default_factory=list,
        description="ODM: items whose value lists several codes ('1,3'): a column per code",
    )
    lenient: bool = Field(
        default=False,
        description="ODM, REDCap: values outside their type or codelist are kept and counted as "
        "warnings instead of stopping the run",
    )
    instrument: str | None = Field(default=None, description="REDCap: the instrument read")
    dictionary: str | None = Field(default=None, description="REDCap: the data dictionary CSV")
    events: str | list[str] | None = Field(
        default=None,
        description="REDCap (longitudinal): the instrument designations CSV, or a list of it with "
        "the events and arms exports",
    )
    missing_codes: str | None = Field(
        default=None,
        description="REDCap: the project's missing data codes as its settings list them, "
        "e.g. 'NI, No information | UNK, Unknown'",
    )

    @property
    def kind(self) -> str:
        """The reader to use: explicit, else from the file extension."""
        if self.format:
            return self.format
        suffix = self.file.lower().rsplit(".", 1)[-1]
        return {"xlsx": "xlsx", "xml": "odm"}.get(suffix, "csv")

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or not (value == "\t" or (value.isascii() and value.isprintable())):
            raise ValueError(
                f"delimiter {value!r} must be one printable ASCII character or a tab, "
                "e.g. ',' or ';'"
            )
        if value == '"':
            raise ValueError("delimiter '\"' is the quote character; use e.g. ',' or ';'")
        return value

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        try:
            "".encode(value)  # LookupError also for codecs that are not text encodings
        except LookupError:
            raise ValueError(
                f"unknown encoding '{value}'; use e.g. utf-8, latin-1, cp1252"
            ) from None
        return value

    @model_validator(mode="after")
    def _options_fit_format(self) -> Source:
        needed = {"redcap": ("instrument", "dictionary")}
        allowed = {
            "csv": {"delimiter", "encoding", "missing"},
            "xlsx": {"sheet", "missing"},
            "odm": {"item_group", "table", "metadata", "split", "lenient"},
            "redcap": {
                *("instrument", "dictionary", "events", "encoding", "missing"),
                *("lenient", "missing_codes"),
            },
        }
        shown = {"csv": "a CSV", "xlsx": "an XLSX", "odm": "an ODM", "redcap": "a REDCap"}
        for option in needed.get(self.kind, ()):
            if getattr(self, option) is None:
                raise ValueError(f"{shown[self.kind]} source needs '{option}'")
        if self.kind == "odm" and (self.item_group is None) == (self.table is None):
            raise ValueError("an ODM source needs 'item_group' or 'table: subjects', not both")
        if self.split and self.table is not None:
            raise ValueError("'split' applies to an item group, not to 'table: subjects'")
        own = {"name", "file", "format"}
        extra = sorted(set(self.model_fields_set) - own - allowed[self.kind])
        if extra:
            raise ValueError(f"'{extra[0]}' does not apply to {shown[self.kind]} source")
        return self


class Site(Strict):
    siteid: str
    country: str
    name: str | None = None
    timezone: str | None = Field(
        default=None,
        description="the site's IANA time zone (e.g. Asia/Tehran): FHIR date-times get its UTC "
        "offset for their date",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not known_zone(value):
            raise ValueError(
                f"'{value}' is not an IANA time zone; give one such as Asia/Tehran or "
                "America/New_York"
            )
        return value


class Element(Strict):
    """A planned element; it starts at a subject's reference date plus an offset."""

    etcd: str = Field(max_length=8)
    element: str
    epoch: str
    start: str = Field(description="DM reference variable the element starts at, e.g. RFXSTDTC")
    offset_days: Days = 0
    start_rule: str = Field(description="TESTRL: when the element starts, in words")
    end_rule: str | None = Field(default=None, description="TEENRL")
    duration: str | None = Field(default=None, description="TEDUR, ISO 8601 duration")


class Arm(Strict):
    armcd: str = Field(max_length=20)
    arm: str
    elements: list[str]


class Visit(Strict):
    visitnum: Finite
    visit: str
    day: Days | None = None
    window: tuple[Days, Days] | None = None
    epoch: str | None = None
    start_rule: str | None = Field(default=None, description="TVSTRL; default from day/window")
    end_rule: str | None = Field(default=None, description="TVENRL")

    @model_validator(mode="after")
    def _day_in_window(self) -> Visit:
        if self.day == 0 or (self.window and 0 in self.window):
            raise ValueError("SDTM has no day 0: day 1 is the reference day, -1 the day before")
        if self.window is not None:
            low, high = self.window
            if low > high:
                raise ValueError(f"window [{low}, {high}] ends before it starts")
            if self.day is not None and not low <= self.day <= high:
                raise ValueError(f"day {self.day} is outside its window [{low}, {high}]")
        return self


class ReferenceRule(Strict):
    """A DM reference date as the first or last of a list of DOMAIN.VARIABLE dates."""

    first: list[str] | None = None
    last: list[str] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReferenceRule:
        if (self.first is None) == (self.last is None):
            raise ValueError("give exactly one of 'first' or 'last'")
        for ref in self.refs:
            if not _VAR_REF.match(ref):
                raise ValueError(f"'{ref}' is not DOMAIN.VARIABLE (e.g. EX.EXSTDTC or *.--DTC)")
        return self

    @property
    def refs(self) -> list[str]:
        return self.first if self.first is not None else (self.last or [])


class AgeRule(Strict):
    """AGE from two DM dates, in whole units."""

    birth: str = "BRTHDTC"
    at: str = "RFICDTC"
    unit: Literal["YEARS"] = "YEARS"


class SummaryParameter(Strict):
    """One TS record: a parameter code and its value, coded where a dictionary applies."""

    parm: str = Field(max_length=8)
    value: IsoText | None = None
    code: str | None = Field(default=None, description="TSVALCD when not from CDISC CT")
    dictionary: str | None = Field(default=None, description="TSVCDREF, e.g. SNOMED")
    version: IsoText | None = Field(default=None, description="TSVCDVER")
    null_flavor: str | None = Field(default=None, description="TSVALNF when value is null")

    @model_validator(mode="after")
    def _value_or_reason(self) -> SummaryParameter:
        if (self.value is None) == (self.null_flavor is None):
            raise ValueError(f"{self.parm}: give a value or a null_flavor (TSVALNF), not both")
        return self


class Criterion(Strict):
    """An inclusion or exclusion criterion (TI)."""

    code: str = Field(max_length=8, description="IETESTCD")
    text: str = Field(max_length=200, description="IETEST")
    category: Literal["INCLUSION", "EXCLUSION"]
    subcategory: str | None = None
    rule: str | None = Field(default=None, description="TIRL")
    version: str | None = Field(default=None, description="TIVERS")


class UnitConversion(Strict):
    """value in `from` x factor = value in `to`; `test` limits it to one test code."""

    from_: str = Field(alias="from")
    to: str
    factor: Finite = Field(gt=0)
    test: str | None = None


class Study(Strict):
    """Everything study-specific that is not a mapping spec."""

    studyid: str = Field(max_length=200)
    title: str
    short_title: str | None = None
    sponsor: str
    phase: str
    registry_ids: dict[str, str] = Field(default_factory=dict)
    usubjid: list[str] = Field(default_factory=lambda: ["STUDYID", "SUBJID"], min_length=1)
    usubjid_separator: str = "-"
    sites: list[Site]
    elements: list[Element] = Field(default_factory=list)
    arms: list[Arm] = Field(default_factory=list)
    visits: list[Visit]
    unscheduled_visit: str = "UNSCHEDULED"
    reference_dates: dict[str, ReferenceRule] = Field(default_factory=dict)
    age: AgeRule | None = None
    sources: list[Source]
    domains: list[str] = Field(
        description="mapping spec files, relative to mappings/", min_length=1
    )
    unit_conversions: list[UnitConversion] = Field(default_factory=list)
    molecular_weights: dict[str, GramsPerMole] = Field(
        default_factory=dict, description="test code -> g/mol, for mass <-> amount by UCUM"
    )
    terminology: str | None = Field(default=None, description="NCI EVS SDTM Terminology file")
    data_cutoff: IsoText | None = Field(default=None, description="DCUTDTC, ISO 8601 date")
    planned_subjects: int | None = Field(default=None, ge=0, description="PLANSUB")
    trial_summary: list[SummaryParameter] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)
    sdtm_version: str = "2.0"
    sdtmig_version: str = "3.4"
    study_datasets: dict[str, list[StudyRow]] = Field(
        default_factory=dict, description="TD, TM, OI: datasets of no subject, as their rows"
    )
    created: datetime | None = Field(
        default=None, description="timestamp written into file headers; fixed for reproducibility"
    )

    @field_validator("visits")
    @classmethod
    def _unique_visits(cls, visits: list[Visit]) -> list[Visit]:
        for attr in ("visitnum", "visit"):
            _unique(visits, attr, "visits")
        return visits

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[Site]) -> list[Site]:
        return _unique(sites, "siteid", "sites")

    @field_validator("elements")
    @classmethod
    def _unique_elements(cls, elements: list[Element]) -> list[Element]:
        return _unique(elements, "etcd", "elements")

    @field_validator("criteria")
    @classmethod
    def _unique_criteria(cls, criteria: list[Criterion]) -> list[Criterion]:
        return _unique(criteria, "code", "criteria")

    @field_validator("sdtmig_version")
    @classmethod
    def _shipped_version(cls, version: str) -> str:
        return check_version(version)

    @field_validator("study_datasets")
    @classmethod
    def _study_datasets(
        cls, given: dict[str, list[StudyRow]], info: ValidationInfo
    ) -> dict[str, list[StudyRow]]:
        version = info.data.get("sdtmig_version") or DEFAULT_VERSION
        for name, rows in given.items():
            study_datasets.check(name, rows, version)
        return given

    @field_validator("data_cutoff")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None and not _iso_date(value):
            raise ValueError(f"'{printable(value)}' is not an ISO 8601 date (yyyy-mm-dd)")
        return value

    @field_validator("domains")
    @classmethod
    def _inside_mappings(cls, domains: list[str]) -> list[str]:
        for name in domains:
            parts = Path(name).parts
            if Path(name).is_absolute() or ".." in parts or not parts:
                raise ValueError(f"'{name}' is not a file in mappings/; name it from there")
        return domains

    @field_validator("visits")
    @classmethod
    def _visit_epochs_exist(cls, visits: list[Visit], info: ValidationInfo) -> list[Visit]:
        epochs = {e.epoch for e in info.data.get("elements", [])}
        for visit in visits:
            if epochs and visit.epoch is not None and visit.epoch not in epochs:
                raise ValueError(
                    f"visit {visit.visit} is in epoch {visit.epoch}, which no element has "
                    f"(elements' epochs: {', '.join(sorted(epochs))})"
                )
        return visits

    @field_validator("arms")
    @classmethod
    def _arms_use_defined_elements(cls, arms: list[Arm], info: ValidationInfo) -> list[Arm]:
        defined = {e.etcd for e in info.data.get("elements", [])}
        for arm in arms:
            missing = [e for e in arm.elements if e not in defined]
            if missing:
                raise ValueError(
                    f"arm {arm.armcd} uses element(s) {', '.join(missing)} not defined in elements"
                )
        return arms

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[Source]) -> list[Source]:
        return _unique(sources, "name", "sources")

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def site_country(self) -> dict[str, str]:
        return {site.siteid: site.country for site in self.sites}


def _unique(items: list[Any], attr: str, key: str) -> list[Any]:
    """The items, when no two share `attr`."""
    values = [getattr(item, attr) for item in items]
    dup = sorted({str(x) for x in values if values.count(x) > 1})
    if dup:
        raise ValueError(f"{attr} {', '.join(dup)} appears twice in {key}")
    return items


class Inherited(BaseModel):
    """The study.yaml a variant `extends`: where it lives and how errors name it."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    root: Path
    shown: str
    lines: Lines
    keys: frozenset[str]


class StudyFolder(BaseModel):
    """A loaded study folder: the definition, where it lives, and its YAML line map."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    root: Path
    study: Study
    lines: Lines
    base: Inherited | None = None

    @property
    def path(self) -> Path:
        return self.root / "study.yaml"

    def where(self, *path: Any) -> str:
        """`file:line` of a study.yaml key path, in the file the key was read from."""
        shown, lines = self._origin(path[0] if path else None)
        line = line_of(lines, path)
        return f"{shown}:{line}" if line else shown

    def _origin(self, key: Any) -> tuple[str, Lines]:
        return _origin(self.base, self.lines, key)

    def source_path(self, source: Source) -> Path:
        return self.path_of("sources", source.file)

    def path_of(self, key: str, relative: str) -> Path:
        """A path given under a top-level key, relative to the folder of the file that set it."""
        if self.base is not None and key in self.base.keys:
            return self.base.root / relative
        return self.root / relative

    def spec_path(self, name: str) -> Path:
        """The folder's own mappings/NAME, else the extended study's."""
        return self._spec_folder(name)[0] / name

    def spec_shown(self, name: str) -> str:
        return str(self._spec_folder(name)[1] / name)

    def _spec_folder(self, name: str) -> tuple[Path, Path]:
        """Where NAME is (the folder, and the folder as errors show it)."""
        own = self.root / "mappings"
        if self.base is None or (own / name).is_file():
            return own, Path("mappings")
        return self.base.root / "mappings", Path(self.base.shown).parent / "mappings"


def _origin(base: Inherited | None, lines: Lines, key: Any) -> tuple[str, Lines]:
    """The file a top-level key was read from (as errors show it) and its line map."""
    if base is not None and key in base.keys:
        return base.shown, base.lines
    return "study.yaml", lines


def load_study(root: Path) -> StudyFolder:
    """Load and validate `root/study.yaml`, overlaid on the study.yaml it `extends`, if any."""
    if root.is_file():
        raise UserError("is a file", root, "give the folder that holds study.yaml")
    if not root.is_dir():
        raise UserError("study folder not found", root, "give the folder that holds study.yaml")
    path = root / "study.yaml"
    if path.is_dir():
        raise UserError("study.yaml is a folder", root, "make study.yaml the study's YAML file")
    if not path.is_file():
        raise UserError("no study.yaml in the study folder", root, "create study.yaml")
    data, lines = read_yaml(path, "study.yaml")
    data, base = _extended(root, data, lines)
    study = validate(data, Study, lambda key: _origin(base, lines, key))
    return StudyFolder(root=root, study=study, lines=lines, base=base)


def _extended(root: Path, data: Any, lines: Lines) -> tuple[Any, Inherited | None]:
    """When this study.yaml says `extends: PATH`: its keys overlaid on the base's, and the
    base; else the data as read, and no base."""
    if not isinstance(data, dict) or "extends" not in data:
        return data, None
    where = f"study.yaml:{line_of(lines, ('extends',))}"
    if not isinstance(data["extends"], str):
        raise UserError("extends must be a path", where, "give the path of the base study.yaml")
    shown = data["extends"]
    path = root / shown
    if not path.is_file():
        raise UserError(
            f"extends '{shown}': no such file", where, "give the path of the base study.yaml"
        )
    if path.resolve() == (root / "study.yaml").resolve():
        raise UserError("study.yaml extends itself", where, "give the path of the base study.yaml")
    base_data, base_lines = read_yaml(path, shown)
    if not isinstance(base_data, dict):
        raise UserError("a study.yaml must be a mapping of keys", shown)
    if "extends" in base_data:
        raise UserError(
            f"extends '{shown}', which itself extends another study",
            where,
            "extend the base study directly: one level only",
        )
    own = {k: v for k, v in data.items() if k != "extends"}
    inherited = {k: v for k, v in base_data.items() if k not in own}
    base = Inherited(root=path.parent, shown=shown, lines=base_lines, keys=frozenset(inherited))
    return {**inherited, **own}, base
