"""CDISC ODM 1.3.2 exports, read as `convert` reads a study's ODM source: `read_tables`, here
for three sources that read one export (a form once per subject, IG.DM, a repeating one,
IG.AE, read leniently, and the subject table), so that the export is parsed once for all as
in a study."""

from __future__ import annotations

from pathlib import Path

from fuzz import material, tokens
from fuzz.target import Feed, Target, fixed_seeds, under
from trialbridge.converters.source_tables import read_tables
from trialbridge.study import load_study

MAX_LEN = 65_536
EXPORT = "raw/export.odm.xml"
STUDY = f"""extends: ../plmsc-spms/study.yaml
sources:
  - {{name: demographics, file: {EXPORT}, item_group: IG.DM}}
  - {{name: adverse_events, file: {EXPORT}, item_group: IG.AE, lenient: true}}
  - {{name: subjects, file: {EXPORT}, table: subjects}}
"""


def prepare(work: Path, made: Path) -> Feed:
    root = material.copy_fixtures(made, work) / "fuzz-odm"
    (root / "raw").mkdir(parents=True)
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    folder = load_study(root)
    source = folder.study.sources[0]
    path = root / EXPORT

    def feed(data: bytes) -> None:
        path.write_bytes(data)
        read_tables(folder, source)

    return feed


def seeds(made: Path) -> dict[str, bytes]:
    """The ODM fixture cut to its first subject (and whole, if it fits), and the hand-made
    exports (a snapshot and a transactional one)."""
    export = (
        material.fixtures(made) / "plmsc-spms-odm" / "raw" / "plmsc-spms.odm.xml"
    ).read_bytes()
    start = export.index(b'<SubjectData SubjectKey="002">')
    end = export.index(b"</ClinicalData>")
    found = {"fixture.xml": export, "fixture-one-subject.xml": export[:start] + export[end:]}
    return under(MAX_LEN, found | fixed_seeds("odm"))


TOKENS = (
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b"<!DOCTYPE ODM [",
    b'<!ENTITY a "aaaaaaaa">',
    b"&a;",
    b"&#0;",
    b"&#x1b;",
    b"&amp;",
    b"<![CDATA[",
    b"<!--",
    b"-->",
    b"<?pi?>",
    b"<o:",
    b'xmlns="http://www.cdisc.org/ns/odm/v1.3"',
    b'xmlns="http://www.cdisc.org/ns/odm/v1.2"',
    b'TransactionType="Insert"',
    b'TransactionType="Update"',
    b'TransactionType="Remove"',
    b'TransactionType="Context"',
    b'TransactionType="Upsert"',
    b'FileType="Transactional"',
    b'IsNull="Yes"',
    b'<Include StudyOID="S_PARENT" MetaDataVersionOID="v1.0.0"/>',
    b'<MeasurementUnitRef MeasurementUnitOID="MU_KG"/>',
    b'MeasurementUnitOID="MU_KG"',
    b'<ExternalCodeList Dictionary="MedDRA" Version="26.0"/>',
    b'xmlns:OpenClinica="http://www.openclinica.org/ns/odm_ext_v130/v3.1"',
    b'OpenClinica:Sex="f"',
    b"<Value>1</Value>",
    b'<SiteRef LocationOID="S1"/>',
    *(
        f'DataType="{t}"'.encode()
        for t in (
            "text",
            "integer",
            "float",
            "date",
            "time",
            "datetime",
            "string",
            "boolean",
            "double",
            "hexBinary",
            "base64Binary",
            "hexFloat",
            "base64Float",
            "partialDate",
            "partialTime",
            "partialDatetime",
            "durationDatetime",
            "intervalDatetime",
            "incompleteDatetime",
            "incompleteDate",
            "incompleteTime",
            "URI",
        )
    ),
)

TARGET = Target("odm", prepare, seeds, TOKENS, MAX_LEN, tokens.xml_names)
