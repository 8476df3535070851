"""docs/fhir-mapping.md, generated from the mapping tables so the two cannot disagree."""

from __future__ import annotations

from importlib import resources

from trialbridge.fhir.definition import KIND, SDTM_DATASET
from trialbridge.fhir.relrec import RELATED
from trialbridge.fhir.supplemental import SUPPLEMENTAL
from trialbridge.fhir.table import (
    ORIGINAL_TEXT,
    SDTM_ORDER,
    SDTM_RECORD,
    SDTM_VARIABLE,
    Derived,
    Element,
    Table,
    table,
)
from trialbridge.sdtm.metadata import standard_domains

HEADER = f"""# SDTM <-> FHIR R4 mapping

Generated from `trialbridge/mappings/fhir/*.yaml` by `trialbridge fhir tables`; do not edit by
hand. Each SDTM record becomes one resource; the same table parses it back.

## Extensions

- `{SDTM_VARIABLE}`: any SDTM variable without a standard FHIR element in the table below.
  A complex extension: `name` (valueString, the SDTM variable name) and `value`
  (valueString for character variables, valueDecimal for numeric ones). Nothing is dropped:
  every populated variable of a record is either in its FHIR element or here.
- `{SUPPLEMENTAL}`: a SUPP-- record, on the resource of its parent record
  (RDOMAIN, USUBJID, IDVAR/IDVARVAL): IDVAR, IDVARVAL, QNAM, QLABEL, QVAL, QORIG, QEVAL as
  valueString parts. Parsing rebuilds SUPP-- from them.
- `{RELATED}`: a RELREC record, on the resource of the record it names: RELID, RELTYPE, IDVAR,
  IDVARVAL (valueString), its position in RELREC (`order`, valueInteger) and a `related`
  valueReference to each other record of the same relationship.
- `{SDTM_RECORD}`: in grouped tables (TS, DS, TA, TE, TV, TI), one SDTM record with its populated
  variables as parts (valueString or valueDecimal).
- `{ORIGINAL_TEXT}`: on a primitive date/time element, the SDTM ISO 8601 text when the FHIR
  value does not read back as it (an unknown month, a time to the hour, a time at a site
  whose time zone is not given, seconds written as 00). The element keeps the nearest FHIR
  value (the date, or the year).

Times: an SDTM date-time is the site's local time, without a zone. With the site's IANA time
zone (study.yaml `sites[].timezone`, or `--timezone` for `fhir build` and `roundtrip`), it
becomes a FHIR dateTime with that zone's UTC offset on that date, daylight saving included
(2021-06-21T10:15 in Asia/Tehran is `2021-06-21T10:15:00+04:30`, 2021-12-16T10:15 is
`+03:30`); a local time that a clock change skips or repeats takes the offset before the
change. Read back, a dateTime gives its local date and time as written, without the offset,
to the minute when its seconds are 00. Without a zone, FHIR cannot hold the time (a dateTime
with a time needs one): the value is the date and the SDTM text rides in the extension
above. Partial dates stay partial (2021-06, 2021).
- `{SDTM_ORDER}`: on each resource of a record table, the record's position in its dataset
  (valueInteger), so the sponsor's record order comes back even from a server that returns
  resources in any order. SUPP-- and grouped records carry theirs as an `order` part.
- `{SDTM_DATASET}`: on one `Basic` resource per dataset (code `dataset` in
  `{KIND}`): the dataset label and its variables in order, each with `name`, `label` and
  `type` (Char or Num), and `records` (valueInteger), the number of records the dataset held.
  Parsing gives back exactly these variables, including those no record fills and a sponsor's
  own (non-SDTMIG) variables; a dataset whose records in the input are not as many as its
  `records` says is an error naming the definition (a file that lost lines does not pass), and
  one defined with 0 records comes back empty.

Split datasets (LBCH, LBHE holding LB) keep their own name in the `sdtm-dataset` tag and name
their domain in an `https://trialbridge.org/fhir/CodeSystem/sdtm-domain` tag.

Codecs: `reference` points at the subject's Patient, `study` at the ResearchStudy, and
`medication` at a Medication resource built once per distinct value (its `code.text`; tagged
with the study only, as it is not an SDTM record). `decimal-text` writes a number SDTM keeps
as text (--ORRES, --ORNRLO) as that very JSON number, so its precision stays (`13.10` is
written `13.10`; `097.8`, which JSON cannot write, `97.8`), a `<0.5` as `comparator` and
value, and a value that is not a number as text (a coded result's `valueCodeableConcept.text`);
where the number reads back as other text (13.10 as 13.1) the SDTM text rides in the
original-text extension too. `unit` writes a unit beside that number only where it is one.
`flag` writes a code where the SDTM value is Y (a seriousness criterion met). Units, doses'
included, get their UCUM code (system `http://unitsofmeasure.org`) from the SDTM hub's table
of every CDISC unit (`trialbridge/sdtm/standards/cdisc_ucum.csv`), where
`trialbridge/fhir/definitions/ucum.csv` wins (the R4 vital signs profile's `/min` for a heart
rate); a unit without one (TABLET, a count of dose forms) keeps only its text.

Codes: a CDISC Controlled Terminology value is coded beside its text with its NCIt C-code
(system `http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl`, as HL7 terminology registers NCI
Thesaurus; display NCI's preferred term), read from the shipped CT: test codes, specimen
types, methods, locations, body positions, routes, reference range indicators, severities,
outcomes, actions taken. The CDISC submission value stays the element's text (or, for test
codes, the first coding, whose system names the codelist). A value the codelist does not hold
(a sponsor term) keeps its text only. A list written `[+n]` has no gaps: a coding absent for a
record is left out, and each coding is found by its system (or, for seriousness and severity,
by its code). MedDRA codings (system `http://terminology.hl7.org/CodeSystem/mdr`) carry every
level the data has, in order (preferred term, lowest level, high level, high level group,
system organ class); a level the data lacks before one it has is a coding of MedDRA's system
alone, so the levels keep their places.

Derived across datasets (not parsed back; their datasets are): a `Group` (actual) of every DM
subject, which `ResearchStudy.enrollment` refers to; `ResearchStudy.arm` from TA's ARMCD (name)
and ARM (description); a ResearchStudy per site (DM's SITEID as its identifier, system
`https://trialbridge.org/fhir/NamingSystem/siteid`, `partOf` the study's), which each
ResearchSubject's `study`, AdverseEvent's `study` and the other records'
`workflow-researchStudy` extension refer to, as the HL7/CDISC mapping guide reaches SITEID
(`study.resolve().identifier`) and STUDYID (`study.resolve().partOf.resolve().identifier`);
AdverseEvent's `suspectEntity.instance`: the Medication of the subject's treatment, where EX
gives the subject exactly one (else AEREL rides in sdtm-variable); each ResearchSubject's
`identifier` from DM's SUBJID (system
`https://trialbridge.org/fhir/NamingSystem/subjid`), and its `assignedArm` and `actualArm` from
DM's ARMCD and ACTARMCD where that is an arm of the study (TA), so a screen failure
(SCRNFAIL, status `ineligible`) names none.

Every resource carries `meta.tag` codes for its SDTM dataset
(`https://trialbridge.org/fhir/CodeSystem/sdtm-dataset`) and study
(`https://trialbridge.org/fhir/CodeSystem/sdtm-study`), and `meta.source` = the native record
(`file#row=N`) when built during `convert`. Ids are uuid5 of (study, resource type, domain,
natural key), so a re-run updates instead of duplicating.
"""


GAPS = """
## Gaps

What FHIR R4 cannot hold in a standard element travels in the extensions above, so nothing is
lost; `trialbridge roundtrip SDTM_DIR --gaps` names those variables for each dataset, and the
tables below list them as `extension[sdtm-variable]`. Beyond that:

- Domains without a table here are not converted: `fhir build` and `roundtrip` name them
  (`not converted (no FHIR mapping yet): ...`). Tables exist for AE, CM, DM, DS, EX, FT, LB,
  MH, NV, QS, RELREC, SC, SE, SUPP--, SV, TA, TE, TI, TS, TV and VS; split datasets (LBCH, QSCO)
  use their domain's table.
- RELREC links records of record tables by --SEQ, and records of DS by subject; a link by
  another variable (--GRPID, --REFID) is refused with a clear error.
- A SUPP-- record qualifies its parent by the parent's --SEQ (or the subject, for DM and DS);
  other IDVARs are refused with a clear error.
- Grouped tables (TS, DS, TA, TE, TV, TI) fill a few FHIR elements as summaries (study phase,
  subject status and period, arms, eligibility characteristics); their records travel whole in
  sdtm-record extensions, which is what parsing reads.
- A record's visit Encounter (`encounter`, `context`) is a link for consumers
  (`Observation?encounter=`; the Encounter's `identifier` is VISITNUM, its `type` VISIT): the
  record's VISITNUM and VISIT still ride in its sdtm-variable extension, which is what parsing
  reads; a VISITNUM that SV does not hold (to 6 decimals) gets no link.
- LOINC codes come from the data (LBLOINC); for a lab dataset without LBLOINC, from the
  test, specimen, method and unit in `fhir/definitions/loinc.csv` (the CDISC pilot's and the
  bundled studies' tests; a combination it does not hold gets CDISC and NCIt codings only);
  for vital signs, from the FHIR vital signs profile's codes for the CDISC test code. Units
  without a UCUM code keep their text.
- Vital signs claim the FHIR R4 vital signs profile each record meets in `meta.profile`
  (`bodyweight`, `bodytemp`, `heartrate`, ...; the base `vitalsigns` for a systolic or
  diastolic result on its own): the profiles' codes, units and required elements are data
  (`fhir/definitions/vital_signs.yaml`), and validating a FHIR folder checks every claim as a
  FHIRPath invariant (`profile-<name>`). Blood pressure is also written as R4's panel
  (85354-9, profile `bp`): one per pair of a systolic and a diastolic result of the same
  subject, visit, date-time, time point and position, with their values as components and
  `derivedFrom` naming the two records' Observations, which stay what parsing reads; the
  panel is tagged `sdtm-origin` `derived`, sent after the Observations, and passed over by
  parsing. A test not done (--STAT NOT DONE) has status `cancelled` and R4's coded
  `dataAbsentReason` `not-performed`.
- A registry identifier (TS REGID) carries the identifier system HL7 terminology registers
  for its registry (TSVCDREF ClinicalTrials.gov: `https://clinicaltrials.gov/nctid`; CTIS;
  ISRCTN); other registries keep their name as the identifier's assigner.
- A Findings result changed on the server after trialbridge wrote it (status `amended` or
  `corrected`) comes back consistent: the value there is the result, and the other side of it
  (the standardised result where the value is --ORRES, the original where it is --STRESN)
  and its reference range are worked out again by unit conversion (the shipped tables, then
  UCUM with molecular weights); the status is kept as a SUPP-- qualifier (QNAM FHIRSTAT,
  QORIG Assigned). Where no conversion is known, or the other side is a coded result, the
  record is one line naming it and nothing is written. Built again from that SDTM, the
  resource's status is `final` with the FHIRSTAT qualifier in its sdtm-supplemental
  extension.

## The HL7/CDISC mapping guide

Every SDTM variable the HL7/CDISC joint mapping guide maps to a standard FHIR element is
written there, or where noted below; `tests/fhir/test_ig_alignment.py` evaluates each path
(`tests/fhir/ig_alignment.csv`) on every record of PLMSC and of the CDISC pilot. Where
trialbridge differs from the guide, and why:

- LB and VS results: the value is the result as collected (--ORRES, --ORRESU) and the
  reference range the collected one (--ORNRLO, --ORNRHI), as the guide has it; the
  standardised result (--STRESC, --STRESN, --STRESU, --STNRLO, --STNRHI) is sponsor derivation
  and rides in sdtm-variable.
- LBDTC is `Observation.effectiveDateTime`, not a Specimen's collection time: R4 defines a
  laboratory Observation's effective time as its specimen's collection time. LBSPEC is the
  type of a Specimen contained in the Observation (`specimen.resolve().type`, as the guide).
- LBCAT is an `Observation.category` (no DiagnosticReport is built per panel); VISIT is the
  visit Encounter's `type` (no ActivityDefinition per visit is built).
- AETERM and the MedDRA terms and codes are `AdverseEvent.event` (R4's element for what the
  event was), not a Condition per event that `resultingCondition` would refer to.
- AESDTH, AESHOSP, AESDISAB, AESCONG, AESMIE: R4's seriousness criteria codes
  (`seriousness`), beside Serious / Non-serious; AEOUT stays the outcome.
- AEENDTC and AEACN: R5's `occurrence` and `mitigatingAction`, in their R4 cross-version
  extensions, as the guide has them.
- VSPOS: R4's `observation-bodyPosition` extension, which the R4 vital signs profile names.
- CMDOSFRQ: `dosage.timing.code` (a named frequency: BID, QD), not the count
  `timing.repeat.frequency`.

Variables the guide maps that stay in sdtm-variable, and why: AECONTRT (a Y/N, where the
guide's mitigatingAction item is an action); AESCAN and AESOD (R4 has no seriousness code
for cancer or overdose); DMDTC (the guide's `Patient.meta.lastUpdated` is the server's own);
VSTPT (the guide's R5 `instantiatesCanonical` needs a protocol activity per time point).
"""


def _grouped(spec: Table) -> str:
    """Rows for a grouped table: the summary elements, then where the records go."""
    rows = []
    for item in spec.summary:
        where = " and ".join(f"{k} = {v}" for k, v in item.where.items()) or "any record"
        how = "each match" if item.many else "first match"
        if item.present:
            how = f"`{item.present}` when a record matches"
        if item.default:
            how += f", else `{item.default}`"
        if item.map:
            how += "; " + ", ".join(f"{k} -> {v}" for k, v in item.map.items())
        rows.append(f"| {item.value} ({where}) | `{spec.resource}.{item.path}` | {how} |\n")
    group = ", ".join(spec.group_by or []) or "the whole dataset"
    rows.append(
        f"| every variable of every record | `extension[sdtm-record]` | one resource "
        f"per {group}, records in order |\n"
    )
    return "".join(rows)


def render() -> str:
    parts = [HEADER, GAPS]
    folder = resources.files("trialbridge.mappings.fhir")
    domains = sorted(p.name[:-5].upper() for p in folder.iterdir() if p.name.endswith(".yaml"))
    for domain in domains:
        spec = table(domain)
        assert spec is not None
        parts.append(f"\n## {domain} -> {spec.resource}\n")
        parts.append(f"Id from {', '.join(spec.id_from)}.")
        if spec.study == "extension":
            parts.append(" The study: R4's `workflow-researchStudy` extension.")
        elif spec.study:
            parts.append(f" The study: `{spec.study}`.")
        if spec.encounter:
            parts.append(
                f" `{spec.encounter}` refers to the visit's Encounter (SV's record of the "
                "subject's VISITNUM), where SV has it."
            )
        if spec.vital_signs:
            parts.append(" `meta.profile`: the R4 vital signs profile the record meets.")
        for panel in spec.panels:
            parts.append(
                f" Also a {panel.text.lower()} panel ({panel.code}) per pair of "
                f"{' and '.join(panel.members)} records."
            )
        if spec.amended:
            side = "--ORRES" if spec.amended.value == "original" else "--STRESN"
            parts.append(
                f" A result whose status is {' or '.join(spec.amended.status)} is the server's"
                f" {side}; the other side is worked out again."
            )
        if spec.fixed:
            fixed = "; ".join(f"`{k}` = `{v}`" for k, v in spec.fixed.items())
            parts.append(f" Fixed: {fixed}.")
        parts.append("\n\n| SDTM variable | FHIR element | how |\n| --- | --- | --- |\n")
        placed = {e.var for e in spec.elements}
        for element in spec.elements:
            how = element.codec
            if element.map:
                how += ": " + ", ".join(f"{k} -> {v}" for k, v in element.map.items())
            if element.default_when:
                how += " (missing: " + ", ".join(
                    f"{v} where {k} is given" for k, v in element.default_when.items()
                )
                how += f", else {element.default})" if element.default else ")"
            elif element.default:
                how += f" (missing -> {element.default})"
            if element.system:
                how += f"; system {element.system}"
            if element.unit_code:
                how += f"; UCUM code in `{element.unit_code}` where the unit has one"
            how += "".join(_also(also) for also in element.also)
            how += _extras(element)
            if element.codes:
                how += f"; `text` = the SDTM value, `{element.part}` = " + ", ".join(
                    f"{k} -> {c.code}" for k, c in element.codes.items()
                )
            where = element.path
            if element.codec == "coded-extension":
                where = f"extension[{element.url}]"
            elif element.extension:
                where = f"extension[{element.extension}].{element.path}"
            parts.append(f"| {element.var} | `{spec.resource}.{where}` | {how} |\n")
        if spec.group_by is not None:
            parts.append(_grouped(spec))
            continue
        meta = standard_domains().get(domain)
        rest = [v.name for v in meta.variables if v.name not in placed] if meta else []
        rest = [n for n in rest if n not in ("STUDYID", "DOMAIN")]
        parts.append(
            f"| {', '.join(rest)} | `extension[sdtm-variable]` | as recorded |\n"
            "| STUDYID, DOMAIN | `meta.tag` | study and dataset codes |\n"
        )
    return "".join(parts)


def _also(also: Derived) -> str:
    """A derived code written beside the value, in words."""
    if also.present:
        return f"; also `{also.path}` = {also.present} when present"
    if also.codelist:
        return f"; also `{also.path}`: the NCIt C-code of the {also.codelist} term"
    if also.lookup:
        unless = f" where a dataset has no {also.unless}" if also.unless else ""
        return (
            f"; also `{also.path}` ({also.system}){unless}: by {', '.join(also.by)} in "
            f"`fhir/definitions/{also.lookup}`"
        )
    pairs = ", ".join(f"{k} -> {v}" for k, v in also.map.items())
    return f"; also `{also.path}` ({also.system}) from {pairs}"


def _extras(element: Element) -> str:
    """Units, comparators, constants and context an element writes, in words."""
    how = ""
    if element.unit:
        how += f"; the unit ({element.unit}) beside the number"
    if element.of:
        how += f"; where {element.of} is a number"
    if element.comparator:
        how += f"; `<0.5` as `{element.comparator}` and the number"
    if element.text:
        how += f"; a value that is not a number in `{element.text}`"
    if element.present:
        how += "; with " + ", ".join(f"`{k}` = `{v}`" for k, v in element.present.items())
    if element.needs:
        how += "; with " + ", ".join(f"`{k}` = the subject's {v}" for k, v in element.needs.items())
    if element.system_with:
        how += "; its system also where " + ", ".join(element.system_with) + " has a value"
    if element.leaves_over:
        how += "; values it cannot hold in `extension[sdtm-variable]`"
    return how
