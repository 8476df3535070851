"""Which metadata a spec's domain takes: its SDTMIG dataset's, or, for a sponsor-defined
domain, its class's SDTM variables (SDTMIG 3.4 section 2.6)."""

from __future__ import annotations

from collections.abc import Callable

from trialbridge.errors import UserError
from trialbridge.mappings.spec import DomainSpec
from trialbridge.sdtm.ct import Terminology
from trialbridge.sdtm.metadata import DomainMeta, custom_domain, general_classes, standard_domains
from trialbridge.yamlio import Lines, line_of

_CUSTOM_ONLY = ("label", "structure", "keys")


def resolve(
    spec: DomainSpec, lines: Lines, shown: str, version: str, ct: Terminology
) -> DomainMeta:
    """The domain's metadata under SDTMIG `version`; a spec that contradicts the IG, or a
    code neither the IG nor a `class:` explains, is an error."""
    ig = standard_domains(version)

    def where(*path: str | int) -> str:
        return f"{shown}:{line_of(lines, path)}"

    if spec.domain in ig:
        return _standard(spec, ig[spec.domain], version, where)
    classes = ", ".join(general_classes())
    if spec.class_ is None:
        close = sorted(d for d in ig if len(d) == 2 and _one_letter_apart(d, spec.domain))
        hint = f" (close: {', '.join(close)})" if close else ""
        raise UserError(
            f"no SDTMIG {version} dataset '{spec.domain}'",
            where("domain"),
            f"for a sponsor-defined domain add 'class:' ({classes}) and 'label:', "
            f"or fix the code{hint}",
        )
    domains = ct.get("DOMAIN")
    if domains is not None and spec.domain in domains.terms:
        raise UserError(
            f"'{spec.domain}' is a CDISC domain abbreviation (CT codelist DOMAIN) that "
            f"SDTMIG {version} has no table for",
            where("domain"),
            "give the sponsor-defined domain a code CDISC does not use (X, Y and Z first "
            "letters are reserved for sponsors)",
        )
    if spec.label is None:
        raise UserError(
            f"sponsor-defined domain {spec.domain} has no 'label'",
            where("class"),
            "add 'label:' (up to 40 characters), the dataset label define.xml and XPT carry",
        )
    meta = custom_domain(
        spec.domain,
        spec.class_,
        spec.label,
        spec.structure,
        tuple(spec.keys) if spec.keys else None,
    )
    for i, key in enumerate(spec.keys or ()):
        if meta.variable(key) is None:
            raise UserError(
                f"key {key} is not a variable of {spec.domain} ({spec.class_})",
                where("keys", i),
                f"name variables of the domain, e.g. {_topic(meta)}",
            )
    return meta


def _one_letter_apart(code: str, other: str) -> bool:
    return sum(a == b for a, b in zip(code, other, strict=True)) == 1


def _topic(meta: DomainMeta) -> str:
    return next(v.name for v in meta.variables if v.role == "Topic")


def _standard(
    spec: DomainSpec, meta: DomainMeta, version: str, where: Callable[..., str]
) -> DomainMeta:
    """An SDTMIG dataset keeps the IG's class, label, structure and keys."""
    if spec.class_ is not None and spec.class_ != meta.dataset_class:
        raise UserError(
            f"{spec.domain} is the SDTMIG {version} dataset '{meta.label}' of class "
            f"{meta.dataset_class}, not {spec.class_}",
            where("class"),
            "drop 'class:', or give a sponsor-defined domain a code of its own (e.g. "
            f"X{spec.domain[1]})",
        )
    for key in _CUSTOM_ONLY:
        if getattr(spec, key) is not None:
            raise UserError(
                f"'{key}' is only for sponsor-defined domains; {spec.domain} takes the "
                f"SDTMIG {version} one",
                where(key),
                f"remove '{key}:'",
            )
    return meta
