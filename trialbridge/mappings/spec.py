"""The mapping language: a closed vocabulary of transforms, validated on load. Never eval'd."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from trialbridge.converters.dates import truncations
from trialbridge.sdtm.domain_frame import DomainSettings
from trialbridge.study import Strict

Scalar = str | int | float


class Condition(Strict):
    """A row filter: one test on one column, or all/any of several conditions."""

    column: str | None = None
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    missing: bool | None = None
    all: list[Condition] | None = Field(default=None, min_length=1)
    any: list[Condition] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [self.equals, self.not_equals, self.in_, self.not_in, self.missing]
        given = sum(t is not None for t in tests)
        if self.all is not None or self.any is not None:
            if self.column is not None or given or (self.all is not None and self.any is not None):
                raise ValueError("'all' or 'any' stands alone in a condition")
        elif self.column is None or given != 1:
            raise ValueError(
                "a condition needs 'column' and exactly one of equals, not_equals, in, "
                "not_in, missing"
            )
        return self


class Copy(Strict):
    """The source column's value, whitespace-trimmed."""

    copy_: str = Field(alias="copy")


class Constant(Strict):
    constant: Scalar


class RecodeArgs(Strict):
    column: str
    map: dict[str, str] = Field(default_factory=dict)
    codelist: str | None = None


class Recode(Strict):
    """Local codes to CDISC submission values; an unmapped value is an error."""

    recode: RecodeArgs


class DateArgs(Strict):
    column: str
    format: str = "yyyy-mm-dd"
    time: str | None = None
    unknown: list[str] = Field(default_factory=lambda: ["UN", "UNK", "NK", "XX", "--"])

    @field_validator("format")
    @classmethod
    def _known_format(cls, fmt: str) -> str:
        truncations(fmt)  # raises ValueError with the reason
        return fmt


class Date(Strict):
    """ISO 8601 from a messy date (and optional time) column; partial dates kept partial."""

    date: DateArgs


class ConcatArgs(Strict):
    parts: list[Expr] = Field(min_length=1)
    separator: str = ""


class Concat(Strict):
    """Join parts; a missing part is skipped together with its separator."""

    concat: ConcatArgs


class LookupArgs(Strict):
    table: str
    by: dict[str, str] = Field(description="this block's source column -> the table's column")
    value: str


class Lookup(Strict):
    """A value from another source table or an already-built domain, by key."""

    lookup: LookupArgs


class Case(Strict):
    if_: Condition = Field(alias="if")
    then: Expr


class WhenArgs(Strict):
    cases: list[Case] = Field(min_length=1)
    otherwise: Expr | None = Field(default=None, alias="else")


class When(Strict):
    """The first case whose condition holds; else the 'else' expression or missing."""

    when: WhenArgs


def _expr_key(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    if isinstance(value, Strict):
        field_name, field = next(iter(type(value).model_fields.items()))
        return field.alias or field_name
    return None


Expr = Annotated[
    Annotated[Copy, Tag("copy")]
    | Annotated[Constant, Tag("constant")]
    | Annotated[Recode, Tag("recode")]
    | Annotated[Date, Tag("date")]
    | Annotated[Concat, Tag("concat")]
    | Annotated[Lookup, Tag("lookup")]
    | Annotated[When, Tag("when")],
    Discriminator(
        _expr_key,
        custom_error_type="unknown_transform",
        custom_error_message=(
            "expected one transform: copy, constant, recode, date, concat, lookup or when"
        ),
    ),
]


def _scalar_is_constant(value: Any) -> Any:
    return {"constant": value} if isinstance(value, str | int | float) else value


SetExpr = Annotated[Expr, BeforeValidator(_scalar_is_constant)]


class Melt(Strict):
    """Wide CRF columns to findings rows: one output row per (input row, listed column)."""

    columns: dict[str, dict[str, SetExpr]] = Field(
        min_length=1, description="source column -> the variables its rows set"
    )
    value: str = "VALUE"
    keep_missing: bool = False


class Join(Strict):
    """Bring columns of another source table or built domain into each row, by key."""

    table: str
    by: dict[str, str] = Field(description="this block's column -> the table's column")
    columns: dict[str, str] = Field(description="the table's column -> name in this block")


class Block(Strict):
    """Rows from one source table; a domain is the union of its blocks."""

    source: str
    subject: str | None = Field(default=None, description="source column holding SUBJID")
    joins: list[Join] = Field(default_factory=list)
    where: Condition | None = None
    melt: Melt | None = None
    variables: dict[str, Expr]


class DomainSpec(DomainSettings):
    """One domain's mapping: blocks of source rows plus domain-level derivation settings."""

    domain: str = Field(pattern=r"^[A-Z]{2}$")
    class_: Literal["Findings", "Events", "Interventions", "Findings About"] | None = Field(
        default=None, alias="class", description="a sponsor-defined domain's observation class"
    )
    label: str | None = Field(
        default=None, min_length=1, max_length=40, description="a sponsor-defined domain's label"
    )
    structure: str | None = Field(
        default=None, min_length=1, description="a sponsor-defined domain's record structure"
    )
    keys: list[str] | None = Field(
        default=None, min_length=1, description="a sponsor-defined domain's natural keys"
    )
    sources: list[Block] = Field(min_length=1)


for _model in (ConcatArgs, Case, WhenArgs, Condition):
    _model.model_rebuild()
