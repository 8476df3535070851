"""FHIR input read back into SDTM, broken or hostile: every problem is one line at its place
(file and line, Bundle file and entry, else Type/id) with the fix, all of them when the run
gathers problems; what is not converted is counted, never dropped unseen; hostile sizes and
depths are refused at once."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import STUDY
from trialbridge import api
from trialbridge.conformance import fhir_folder
from trialbridge.errors import UserError, UserErrors, collecting
from trialbridge.fhir import bundles
from trialbridge.fhir.parse import convert, parse
from trialbridge.fhir.reading import MAX_DEPTH, json_depth, nesting

NDJSON_FIX = "an NDJSON file holds one FHIR resource, as a JSON object, on every line"
BUNDLE_FIX = "a .json file here holds one FHIR Bundle (resources one per line go in .ndjson files)"
FOLDER_FIX = "give the folder fhir build wrote (with ndjson/ or bundles/), or one of NDJSON files"
REFERENCE_FIX = "include that resource, or correct the reference"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled study's FHIR output folder (bundles/, ndjson/)."""
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt", "fhir"))
    return out / "fhir"


@pytest.fixture
def fhir(built: Path, tmp_path: Path) -> Path:
    """A copy a test may break."""
    return Path(shutil.copytree(built, tmp_path / "fhir"))


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def set_line(path: Path, number: int, text: bytes) -> None:
    parts = lines(path)
    parts[number - 1] = text
    path.write_bytes(b"\n".join(parts))


def resource(path: Path, number: int) -> dict[str, Any]:
    return json.loads(lines(path)[number - 1])


def put(path: Path, number: int, value: dict[str, Any]) -> None:
    set_line(path, number, json.dumps(value).encode())


def refused(folder: Path) -> str:
    """The one line reading the folder into SDTM stops with."""
    with pytest.raises(UserError) as error:
        convert(bundles.read(folder))
    return str(error.value)


def gathered(folder: Path) -> list[str]:
    """Every line a run that gathers problems lists."""
    with pytest.raises(UserErrors) as error, collecting():
        convert(bundles.read(folder))
    return [e.line() for e in error.value.problems.kept]


def observations(folder: Path) -> Path:
    return folder / "ndjson" / "Observation.ndjson"


# --- the folder -------------------------------------------------------------------------


def test_a_missing_folder_a_file_an_empty_folder_and_one_without_fhir(tmp_path: Path):
    assert refused(tmp_path / "nothing") == (
        f"{tmp_path / 'nothing'}: FHIR folder not found; give the folder fhir build wrote"
    )
    (tmp_path / "a.txt").write_text("x")
    assert refused(tmp_path / "a.txt") == f"{tmp_path / 'a.txt'}: not a folder; {FOLDER_FIX}"
    (tmp_path / "empty").mkdir()
    assert refused(tmp_path / "empty") == f"{tmp_path / 'empty'}: the folder is empty; {FOLDER_FIX}"
    (tmp_path / "other" / "bundles").mkdir(parents=True)
    (tmp_path / "other" / "bundles" / "manifest.json").write_text("{}")  # not FHIR: not read
    (tmp_path / "other" / "notes.csv").write_text("a,b\n")
    assert refused(tmp_path / "other") == (
        f"{tmp_path / 'other'}: no FHIR input: no .ndjson file (in ndjson/ or here) and no "
        f".json Bundle (in bundles/ or here); {FOLDER_FIX}"
    )


def test_files_without_resources(fhir: Path):
    shutil.rmtree(fhir / "bundles")
    for path in (fhir / "ndjson").glob("*.ndjson"):
        path.write_bytes(b"\n")
    assert refused(fhir) == (
        f"{fhir / 'ndjson'}: no FHIR resources in its 13 .ndjson files; {FOLDER_FIX}"
    )


# --- NDJSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "what"),
    [
        (b'{"resourceType": ', "not valid JSON: unexpected end of data at column 18"),
        (b'{"a": NaN}', "not valid JSON: unexpected character, expected a JSON value at column 7"),
        (b"[1, 2]", "a JSON array, not a FHIR resource object"),
        (b'"Patient"', "a JSON string, not a FHIR resource object"),
        (b"42", "a JSON number, not a FHIR resource object"),
        (b"null", "null, not a FHIR resource object"),
    ],
)
def test_a_line_that_is_not_a_resource_object(fhir: Path, text: bytes, what: str):
    set_line(observations(fhir), 3, text)
    assert refused(fhir) == f"{observations(fhir)}, line 3: {what}; {NDJSON_FIX}"


def test_an_empty_line_in_the_middle_is_an_error_and_at_the_end_is_not(fhir: Path):
    path = observations(fhir)
    path.write_bytes(path.read_bytes() + b"\n \r\n\n")
    assert len(parse(bundles.read(fhir))["LB"].frame) == 213
    set_line(path, 3, b"  ")
    assert refused(fhir) == f"{path}, line 3: an empty line; remove it: {NDJSON_FIX}"


@pytest.mark.parametrize(
    ("head", "what", "fix"),
    [
        (b"\xef\xbb\xbf", "starts with a UTF-8 byte order mark", "without a byte order mark"),
        (b"\xff\xfe", "encoded as UTF-16", "without a byte order mark"),
    ],
)
def test_a_byte_order_mark(fhir: Path, head: bytes, what: str, fix: str):
    path = observations(fhir)
    path.write_bytes(head + path.read_bytes())
    assert refused(fhir) == f"{path}, line 1: {what}; save the file as UTF-8 {fix}"


def test_utf16_without_a_byte_order_mark(fhir: Path):
    path = observations(fhir)
    path.write_bytes(path.read_text().encode("utf-16-le"))
    assert refused(fhir) == (
        f"{path}, line 1: encoded as UTF-16 or UTF-32 (NUL bytes); save the file as UTF-8 "
        "without a byte order mark"
    )


def test_invalid_utf8_names_the_byte_and_its_column(fhir: Path):
    path = observations(fhir)
    set_line(path, 5, lines(path)[4].replace(b'"Observation"', b'"Obs\xe9rvation"', 1))
    assert refused(fhir) == (
        f"{path}, line 5: not valid UTF-8 (byte 0xe9 at column 21); save the file as UTF-8"
    )


def test_a_file_that_is_one_json_array_or_one_object_over_several_lines(fhir: Path):
    path = observations(fhir)
    body = [line for line in lines(path) if line]
    path.write_bytes(b"[\n" + b",\n".join(body) + b"\n]\n")
    assert refused(fhir) == f"{path}, line 1: the file is one JSON array, not NDJSON; {NDJSON_FIX}"
    path.write_bytes(b"[" + b",".join(body) + b"]\n")
    assert refused(fhir) == f"{path}, line 1: the file is one JSON array, not NDJSON; {NDJSON_FIX}"
    path.write_text(json.dumps(json.loads(body[0]), indent=2))
    assert refused(fhir) == (
        f"{path}, line 1: the file is one JSON object over several lines, not NDJSON; {NDJSON_FIX}"
    )


def test_a_line_longer_than_the_bound_is_refused_before_the_rest_is_read(fhir: Path):
    path = observations(fhir)
    with path.open("wb") as handle:  # 200 MiB on one line
        handle.write(lines(path)[0] + b"\n")
        handle.write(b'{"text": "' + b"x" * (200 * 1024 * 1024))
    assert refused(fhir) == f"{path}, line 2: a line longer than 16 MiB; {NDJSON_FIX}"


def test_nesting_is_bounded_at_100_levels_and_past_the_json_readers_own_limit(fhir: Path):
    path = observations(fhir)
    base = resource(path, 2)
    deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # resource object + 99 = 100 levels
    set_line(path, 2, json.dumps({**base, "note": json.loads(deep)}).encode())
    assert len(parse(bundles.read(fhir))["LB"].frame) == 213  # 100 levels: read
    too_deep = f"{path}, line 2: JSON nested deeper than 100 levels; FHIR resources nest far less:"
    for levels in (MAX_DEPTH, 5000):  # 101 levels; and past orjson's 1024
        set_line(path, 2, b'{"a": ' + b"[" * levels + b"]" * levels + b"}")
        assert refused(fhir) == f"{too_deep} check what wrote the file"


def test_the_depth_of_json_text_is_found_from_its_bytes():
    assert json_depth(b'{"a": "[[[[{{{", "b": [{"c": "\\"]]"}], "d": "\\\\"}') == 3
    assert json_depth(b'"x"') == 0
    assert json_depth(b"[[], [[]]]") == 3
    assert nesting({"a": [{"b": []}], "c": 1}) == 4


# --- Bundles ----------------------------------------------------------------------------


def only_bundles(fhir: Path) -> Path:
    shutil.rmtree(fhir / "ndjson")
    return fhir / "bundles" / "bundle-0005.json"


def edit_bundle(path: Path, change: Any) -> None:
    document = json.loads(path.read_bytes())
    change(document)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("text", "what", "fix"),
    [
        ("[1]", "a JSON array, not a FHIR Bundle", BUNDLE_FIX),
        ('{"resourceType": "Patient", "id": "x"}', "a Patient, not a Bundle", BUNDLE_FIX),
        ('{"type": "collection"}', "no resourceType: not a FHIR Bundle", BUNDLE_FIX),
        (
            '{"resourceType": "Bundle", "type": "history", "entry": []}',
            "a Bundle of type 'history'",
            "trialbridge reads transaction, batch, collection and searchset Bundles (a history "
            "holds every version: read the current resources instead)",
        ),
        (
            '{"resourceType": "Bundle", "entry": []}',
            "a Bundle without a type code",
            "trialbridge reads transaction, batch, collection and searchset Bundles",
        ),
        (
            '{"resourceType": "Bundle", "type": "searchset", "entry": {}}',
            "Bundle.entry is a JSON object, not a list",
            BUNDLE_FIX,
        ),
    ],
)
def test_a_file_that_is_not_a_bundle_that_can_be_read(fhir: Path, text: str, what: str, fix: str):
    path = only_bundles(fhir)
    path.write_text(text)
    assert refused(fhir) == f"{path}: {what}; {fix}"


def test_bundle_entries_that_hold_no_resource_object(fhir: Path):
    path = only_bundles(fhir)
    entry = f"{path}, Bundle.entry"

    def entries(document: dict[str, Any]) -> None:
        document["entry"][3] = 5
        document["entry"][4].pop("resource")
        document["entry"][5]["resource"] = "Observation/x"
        document["entry"][6] = {"request": {"method": "DELETE", "url": "Observation/y"}}

    edit_bundle(path, entries)
    fix = "each Bundle entry is an object that holds its resource"
    assert gathered(fhir) == [
        f"{entry}[3]: a JSON number, not an entry object; {fix}",
        f"{entry}[4]: an entry without a resource (a PUT request); {fix}, or remove the entry",
        f"{entry}[5]: resource is a JSON string, not an object; {fix}",
        f"{entry}[6]: an entry without a resource (a DELETE request); {fix}, or remove the entry",
    ]


def test_bundle_json_encoding_size_and_depth(fhir: Path):
    path = only_bundles(fhir)
    data = path.read_bytes()
    path.write_bytes(b'{"resourceType": "Bundle",\n"type": }')
    assert refused(fhir) == (
        f"{path}, line 2: not valid JSON: unexpected character, expected a JSON value at "
        f"column 9; {BUNDLE_FIX}"
    )
    path.write_bytes(data.replace(b"final", b"fi\xffnal", 1))
    column = data.index(b"final") + 3
    assert refused(fhir) == (
        f"{path}, line 1: not valid UTF-8 (byte 0xff at column {column}); save the file as UTF-8"
    )
    edit_bundle(
        path.with_name("bundle-0001.json"),
        lambda d: d["entry"][2]["resource"].update(note=json.loads("[" * 120 + "]" * 120)),
    )
    path.write_bytes(data)
    assert refused(fhir) == (
        f"{path.with_name('bundle-0001.json')}, Bundle.entry[2]: JSON nested deeper than 100 "
        "levels; FHIR resources nest far less: check what wrote the file"
    )


def test_a_bundle_file_over_the_bound_is_refused_without_reading_it(
    fhir: Path, monkeypatch: pytest.MonkeyPatch
):
    path = only_bundles(fhir)
    os.truncate(path, 300 * 1024 * 1024)  # sparse: nothing is written
    read_bytes, open_ = Path.read_bytes, Path.open

    def never_read(self: Path) -> bytes:
        assert self != path, "the Bundle file was read"
        return read_bytes(self)

    def never_opened(self: Path, *args: Any, **kwargs: Any) -> Any:
        assert self != path, "the Bundle file was opened"
        return open_(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_bytes", never_read)
    monkeypatch.setattr(Path, "open", never_opened)
    assert refused(fhir) == (
        f"{path}: a Bundle file larger than 256 MiB; split it into smaller Bundles, or give "
        "the resources as NDJSON"
    )


def test_bundles_read_alone_give_what_ndjson_gives(fhir: Path, built: Path):
    only_bundles(fhir)
    from_bundles = parse(bundles.read(fhir))
    from_ndjson = parse(bundles.read(built))
    assert sorted(from_bundles) == sorted(from_ndjson)
    for name, dataset in from_ndjson.items():
        assert from_bundles[name].frame.equals(dataset.frame), name


# --- resources ---------------------------------------------------------------------------


def test_resources_without_a_usable_type_or_id(fhir: Path):
    path = observations(fhir)
    changes = {
        2: lambda r: r.pop("resourceType"),
        3: lambda r: r.update(resourceType=7),
        4: lambda r: r.update(resourceType="Obs ervation"),
        5: lambda r: r.pop("id"),
        6: lambda r: r.update(id=12),
        7: lambda r: r.update(id="a b"),
    }
    for number, change in changes.items():
        value = resource(path, number)
        change(value)
        put(path, number, value)
    assert gathered(fhir) == [
        f"{path}, line 2: resource without resourceType; name the resource's type",
        f"{path}, line 3: resourceType is a JSON number, not a string; name the type",
        f"{path}, line 4: resourceType 'Obs ervation' is not a FHIR resource type name; "
        "correct the resource",
        f"{path}, line 5: Observation without an id; give every resource its id",
        f"{path}, line 6: Observation id is a JSON number, not a string; give the id as text",
        f"{path}, line 7: Observation id 'a b' is not a FHIR id; use at most 64 letters, "
        "digits, '-' and '.'",
    ]


def test_an_identical_duplicate_is_counted_and_a_different_one_names_both_places(fhir: Path):
    path = observations(fhir)
    first = lines(path)[0]
    path.write_bytes(path.read_bytes() + first + b"\n")
    parsed = convert(bundles.read(fhir))
    assert parsed.duplicates == 1
    assert len(parsed.datasets["LB"].frame) == 213
    changed = first.replace(b'"final"', b'"amended"')
    other = fhir / "ndjson" / "Sent-again.ndjson"  # read after Observation.ndjson
    other.write_bytes(changed + b"\n")
    name = f"Observation/{json.loads(first)['id']}"
    assert refused(fhir) == (
        f"{other}, line 1: {name}: appears again with other content (first at {path}, line 1); "
        "a FHIR id names one resource: keep one version of it"
    )
    other.unlink()
    path.write_bytes(path.read_bytes() + changed + b"\n")
    assert refused(fhir) == (
        f"{path}, line 509: {name}: appears again with other content (first at line 1); "
        "a FHIR id names one resource: keep one version of it"
    )


def test_a_subject_that_is_not_there_or_not_a_subject(fhir: Path):
    path = observations(fhir)
    patient = resource(fhir / "ndjson" / "Patient.ndjson", 1)
    foreign = {"resourceType": "Patient", "id": "foreign"}
    (fhir / "ndjson" / "Patient.ndjson").write_text(
        (fhir / "ndjson" / "Patient.ndjson").read_text() + json.dumps(foreign) + "\n"
    )
    names = {}
    for number, subject in ((2, {"reference": "Patient/nobody"}), (3, foreign), (4, None)):
        value = resource(path, number)
        names[number] = f"Observation/{value['id']}"
        if subject is foreign:
            value["subject"] = {"reference": "Patient/foreign"}
        elif subject is None:
            value["subject"] = "Patient/" + patient["id"]
        else:
            value["subject"] = subject
        put(path, number, value)
    value = resource(path, 5)
    value.pop("subject")
    put(path, 5, value)
    assert gathered(fhir) == [
        f"{path}, line 2: {names[2]}: subject refers to 'Patient/nobody', which is not in the "
        f"input; {REFERENCE_FIX}",
        f"{path}, line 3: {names[3]}: subject refers to 'Patient/foreign', which is not an "
        f"SDTM subject (a Patient tagged DM); {REFERENCE_FIX}",
        f"{path}, line 4: {names[4]}: subject is a JSON string, not a Reference; give it as a "
        'Reference: {"reference": "Type/id"}',
        f"{path}, line 5: Observation/{value['id']}: no subject; refer to the subject's Patient",
    ]


def test_no_patient_at_all(fhir: Path):
    (fhir / "ndjson" / "Patient.ndjson").unlink()
    assert refused(fhir) == (
        f"{fhir}: no Patient resources: SDTM records belong to subjects; include the study's "
        "Patients (DM) in the FHIR input"
    )


def test_a_medication_or_relrec_partner_not_in_the_input(fhir: Path):
    (fhir / "ndjson" / "Medication.ndjson").unlink()
    (fhir / "ndjson" / "AdverseEvent.ndjson").unlink()
    given = fhir / "ndjson" / "MedicationAdministration.ndjson"
    statement = fhir / "ndjson" / "MedicationStatement.ndjson"
    medication = resource(given, 1)["medicationReference"]["reference"]
    related = [
        part["valueReference"]["reference"]
        for ext in resource(statement, 1)["extension"]
        if ext["url"].endswith("sdtm-relrec")
        for part in ext["extension"]
        if part["url"] == "related"
    ]
    found = gathered(fhir)
    assert len(found) == 5 + 2  # every administration; both statements with an AE partner
    assert found[0] == (
        f"{given}, line 1: MedicationAdministration/{resource(given, 1)['id']}: "
        f"medicationReference refers to '{medication}', which is not in the input; "
        f"{REFERENCE_FIX}"
    )
    assert found[5].startswith(f"{statement}, line 1: MedicationStatement/")
    assert found[5].endswith(
        f".valueReference (RELREC) refers to '{related[0]}', which is not in the input; "
        f"{REFERENCE_FIX}"
    )


def test_what_is_not_converted_is_counted_by_type(fhir: Path):
    path = fhir / "ndjson" / "Other.ndjson"
    foreign = [
        {"resourceType": "Condition", "id": "c1"},
        {"resourceType": "Condition", "id": "c2"},
        {"resourceType": "Foo", "id": "f1"},  # no R4 type: counted under its name
        {"resourceType": "Patient", "id": "p1"},  # not tagged DM: not a subject
        {"resourceType": "Medication", "id": "m1", "code": {"text": "aspirin"}},  # unnamed
        {
            "resourceType": "Observation",
            "id": "o1",
            "meta": {
                "tag": [
                    {"system": "https://trialbridge.org/fhir/CodeSystem/sdtm-dataset", "code": "ZZ"}
                ]
            },
        },  # a dataset without a mapping table
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in foreign))
    parsed = convert(bundles.read(fhir))
    assert parsed.not_converted == {
        "Condition": 2,
        "Foo": 1,
        "Medication": 1,
        "Observation": 1,
        "Patient": 1,
    }
    assert parsed.no_input == [] and parsed.duplicates == 0
    assert len(parsed.datasets["LB"].frame) == 213  # the enrolled Group is not counted


def test_a_folder_lacking_types_gives_only_the_datasets_it_has_records_for(fhir: Path):
    (fhir / "ndjson" / "Observation.ndjson").unlink()
    (fhir / "ndjson" / "Encounter.ndjson").unlink()
    parsed = convert(bundles.read(fhir))
    assert parsed.no_input == ["FT", "LB", "NV", "QS", "SV", "VS"]
    assert sorted(parsed.datasets) == [
        "AE", "CM", "DM", "DS", "EX", "RELREC", "SE", "SUPPAE", "TA", "TE", "TI", "TS", "TV",
    ]  # fmt: skip
    assert parsed.not_converted == {}


def test_fhir_to_sdtm_leaves_the_earlier_files_of_datasets_without_input(fhir: Path, tmp_path):
    out = tmp_path / "sdtm"
    api.fhir_to_sdtm(fhir, out)
    lb = (out / "lb.xpt").read_bytes()
    os.utime(out / "dm.xpt", ns=(0, 0))  # 1970: a file written again is newer, however coarse
    (fhir / "ndjson" / "Observation.ndjson").unlink()
    parsed = api.fhir_to_sdtm(fhir, out)
    assert "LB" not in parsed.datasets and (out / "lb.xpt").read_bytes() == lb
    assert "LB" in parsed.no_input
    assert (out / "dm.xpt").stat().st_mtime_ns > 0  # the others were written again


# --- values in resources ----------------------------------------------------------------


def change_lines(path: Path, changes: dict[int, Any]) -> dict[int, str]:
    """Apply each change to the resource on its line; each line's place and resource name."""
    names = {}
    for number, change in changes.items():
        value = resource(path, number)
        names[number] = f"{path}, line {number}: Observation/{value['id']}"
        change(value)
        put(path, number, value)
    return names


def test_tags_parsing_relies_on_then_extensions(fhir: Path):
    path = observations(fhir)
    original = path.read_bytes()
    names = change_lines(
        path,
        {
            4: lambda r: r.update(meta="LB"),
            5: lambda r: r["meta"].update(tag=[1]),
            6: lambda r: r["meta"]["tag"][0].update(code="../../x"),
            7: lambda r: r["meta"]["tag"][0].update(code="AE"),
            8: lambda r: r.update(extension={"url": "x"}),
            9: lambda r: r["extension"].append({"valueString": "x"}),
        },
    )
    assert gathered(fhir) == [  # what places a resource comes first
        f"{names[4]}: meta is a JSON string, not an object; correct the resource",
        f"{names[5]}: meta.tag[0] is a JSON number, not a Coding; correct the resource",
        f"{names[6]}: sdtm-dataset tag '../../x' is not an SDTM dataset name; correct the tag "
        "(a capital letter, then up to 7 capitals or digits)",
        f"{names[7]}: tagged as SDTM dataset AE, whose records are AdverseEvent resources; "
        "correct the sdtm-dataset tag",
    ]
    fixed = lines(path)
    fixed[3:7] = original.split(b"\n")[3:7]
    path.write_bytes(b"\n".join(fixed))
    last = len(resource(path, 9)["extension"]) - 1
    assert gathered(fhir) == [
        f"{names[8]}: extension is a JSON object, not a list; correct the resource",
        f"{names[9]}: extension[{last}] has no url; give every extension its url",
    ]


def sdtm_variable(value: dict[str, Any], numeric: bool) -> dict[str, Any]:
    """The first sdtm-variable extension holding a number (or text)."""
    return next(
        e
        for e in value["extension"]
        if e["url"].endswith("sdtm-variable") and ("valueDecimal" in e["extension"][1]) == numeric
    )


def test_a_dataset_definition_then_sdtm_variables_of_the_wrong_shape(fhir: Path):
    path = observations(fhir)
    names = change_lines(
        path,
        {
            5: lambda r: sdtm_variable(r, False)["extension"][0].update(valueString="lbx"),
            6: lambda r: sdtm_variable(r, False)["extension"][1].update(valueString=None),
        },
    )
    basic = fhir / "ndjson" / "Basic.ndjson"
    original = resource(basic, 1)
    definition = copy.deepcopy(original)
    definition["extension"][0]["extension"][2]["extension"][-1]["valueString"] = "Date"
    put(basic, 1, definition)
    assert gathered(fhir) == [
        f"{basic}, line 1: Basic/{definition['id']}: extension[0].extension[2].type is 'Date', "
        "not Char or Num; correct the resource",
    ]
    put(basic, 1, original)
    position = resource(path, 5)["extension"].index(sdtm_variable(resource(path, 5), False))
    assert gathered(fhir) == [
        f"{names[5]}: extension[{position}].name 'lbx' is not an SDTM variable name; correct it "
        "(a capital letter, then up to 7 capitals, digits or _)",
        f"{names[6]}: extension[{position}].value.valueString is null, not a string; correct "
        "the resource",
    ]


def test_element_values_of_the_wrong_json_type(fhir: Path):
    path = observations(fhir)
    names = change_lines(
        path,
        {
            2: lambda r: r["valueQuantity"].update(value="5.1"),
            3: lambda r: r.update(status=3),
            4: lambda r: r.update(_effectiveDateTime=[]),
        },
    )
    assert gathered(fhir) == [
        f"{names[2]}: valueQuantity.value is a JSON string, not a number; correct the value",
        f"{names[3]}: status is a JSON number, not a string; correct the value",
        f"{names[4]}: _effectiveDateTime is a JSON array, not an object; correct the resource",
    ]


def test_text_in_a_num_variable_names_every_record(fhir: Path):
    path = observations(fhir)

    def text_for_number(value: dict[str, Any]) -> None:
        sdtm_variable(value, True)["extension"][1] = {"url": "value", "valueString": "abc"}

    names = change_lines(path, {2: text_for_number, 9: text_for_number})
    variable = sdtm_variable(resource(path, 1), True)["extension"][0]["valueString"]
    fix = f"{variable} is Num: give it as valueDecimal"
    assert gathered(fhir) == [
        f"{names[2]}: {variable} 'abc' is not a number; {fix}",
        f"{names[9]}: {variable} 'abc' is not a number; {fix}",
    ]


# --- what fuzzing found ------------------------------------------------------------------


def test_a_tag_or_extension_url_that_is_an_object_is_no_crash(fhir: Path):
    path = observations(fhir)
    names = change_lines(
        path,
        {
            2: lambda r: r["meta"]["tag"].append({"system": {"a": 1}, "code": "x"}),  # not ours
            3: lambda r: r["extension"].append({"url": ["x"], "valueString": "x"}),
        },
    )
    last = len(resource(path, 3)["extension"]) - 1
    assert gathered(fhir) == [
        f"{names[3]}: extension[{last}] has no url; give every extension its url",
    ]


def test_resources_not_from_files_are_named_by_type_and_id(built: Path):
    resources = [copy.deepcopy(r) for r in bundles.read(built)]  # as a server hands them over
    observation = next(r for r in resources if r["resourceType"] == "Observation")
    observation["subject"] = {"reference": "Patient/nobody"}
    with pytest.raises(UserError) as error:
        convert(resources)
    assert str(error.value) == (
        f"Observation/{observation['id']}: subject refers to 'Patient/nobody', which is not in "
        f"the input; {REFERENCE_FIX}"
    )
    resources.append({"resourceType": "Patient"})
    resources.append(5)
    with pytest.raises(UserErrors) as errors, collecting():
        convert(resources)
    assert [e.line() for e in errors.value.problems.kept] == [
        f"resource {len(resources) - 1}: Patient without an id; give every resource its id",
        f"resource {len(resources)}: a JSON number, not a resource object; correct the resource",
    ]


def test_duplicates_handed_over_nested_too_deep_are_refused_before_comparing(built: Path):
    resources = [copy.deepcopy(r) for r in bundles.read(built)]
    deep: Any = []
    for _ in range(2000):  # past the recursion a comparison would need
        deep = [deep]
    resources.append({"resourceType": "Condition", "id": "c1", "note": deep})
    resources.append({"resourceType": "Condition", "id": "c1", "note": deep})
    with pytest.raises(UserError) as error:
        convert(resources)
    assert (
        str(error.value) == "Condition/c1: JSON nested deeper than 100 levels; correct the resource"
    )


# --- dataset definitions -----------------------------------------------------------------


def count_records(basic: Path, number: int, records: int) -> dict[str, Any]:
    """The definition on line `number` of Basic.ndjson, saying how many records it has."""
    value = resource(basic, number)
    value["extension"][0]["extension"].append({"url": "records", "valueInteger": records})
    put(basic, number, value)
    return value


def test_a_definition_that_counts_its_records_catches_a_partial_input(fhir: Path):
    basic = fhir / "ndjson" / "Basic.ndjson"
    lb = count_records(basic, 7, 213)
    assert len(parse(bundles.read(fhir))["LB"].frame) == 213
    path = observations(fhir)
    path.write_bytes(b"\n".join(lines(path)[1:]))  # an LB Observation lost, lines still whole
    assert refused(fhir) == (
        f"{basic}, line 7: Basic/{lb['id']}: dataset LB has 213 records by this definition; "
        "the input holds 212; give all of the dataset's resources (some are missing or extra)"
    )


def test_a_dataset_defined_with_no_records_comes_back_empty_and_uncounted_is_no_input(
    fhir: Path,
):
    (fhir / "ndjson" / "Encounter.ndjson").unlink()
    count_records(fhir / "ndjson" / "Basic.ndjson", 18, 0)  # SV: no records, by definition
    (fhir / "ndjson" / "EpisodeOfCare.ndjson").unlink()  # SE: its definition does not count
    parsed = convert(bundles.read(fhir))
    assert len(parsed.datasets["SV"].frame) == 0
    assert [v.name for v in parsed.datasets["SV"].variables][:3] == ["STUDYID", "DOMAIN", "USUBJID"]
    assert parsed.no_input == ["SE"]


def test_datasets_rebuilt_without_their_definition_are_named(fhir: Path):
    (fhir / "ndjson" / "Basic.ndjson").unlink()
    parsed = convert(bundles.read(fhir))
    assert parsed.undefined == sorted(parsed.datasets) and len(parsed.undefined) == 19
    assert parsed.no_input == []


def test_a_count_that_is_not_one(fhir: Path):
    basic = fhir / "ndjson" / "Basic.ndjson"
    lb = count_records(basic, 7, -1)
    last = len(lb["extension"][0]["extension"]) - 1
    assert refused(fhir) == (
        f"{basic}, line 7: Basic/{lb['id']}: extension[0].extension[{last}].valueInteger is -1, "
        "not a count; correct the resource"
    )


def test_a_folder_of_ndjson_files_is_validated_as_fhir(fhir: Path, tmp_path: Path):
    for path in (fhir / "ndjson").glob("*.ndjson"):
        path.rename(fhir / path.name)
    shutil.rmtree(fhir / "ndjson")
    shutil.rmtree(fhir / "bundles")
    assert fhir_folder.is_fhir_folder(fhir)
    findings = api.validate(fhir, tmp_path / "out").findings
    assert {f.rule for f in findings} == {"TB0018"}  # as from the ndjson/ folder: no FHIR one


def test_a_grouped_resource_without_records_beside_others_is_counted(fhir: Path):
    """Found by `make fuzz`: a TA PlanDefinition that carries no record made the resources
    that gave records and the dataset's members two lists of different lengths (ValueError
    from zip, strict)."""
    path = fhir / "ndjson" / "PlanDefinition.ndjson"
    ta = resource(path, 1)
    empty = {"resourceType": "PlanDefinition", "id": "no-arms", "meta": ta["meta"]}
    empty["status"] = "draft"
    path.write_bytes(path.read_bytes() + json.dumps(empty).encode() + b"\n")
    parsed = convert(bundles.read(fhir))
    assert len(parsed.datasets["TA"].frame) == 3
    assert parsed.not_converted == {"PlanDefinition": 1}


def test_a_definition_without_its_dataset_extension_or_variables_is_refused(fhir: Path):
    """Found by `make fuzz`: a definition whose sdtm-dataset extension had a mistyped url
    defined no variable, so its dataset came out as records with no columns (TypeError from
    the XPT writer)."""
    basic = fhir / "ndjson" / "Basic.ndjson"
    original = resource(basic, 1)
    mistyped = copy.deepcopy(original)
    mistyped["extension"][0]["url"] = (
        "httfs://trialbridge.org/fhir/StructureDefinition/sdtm-dataset"
    )
    put(basic, 1, mistyped)
    assert gathered(fhir) == [
        f"{basic}, line 1: Basic/{original['id']}: an SDTM dataset definition with 0 extensions "
        "https://trialbridge.org/fhir/StructureDefinition/sdtm-dataset, not 1; give it one, "
        "holding the dataset's label and variables, as fhir build writes it",
    ]
    empty = copy.deepcopy(original)
    empty["extension"][0]["extension"] = [
        part for part in empty["extension"][0]["extension"] if part["url"] != "variable"
    ]
    put(basic, 1, empty)
    assert gathered(fhir) == [
        f"{basic}, line 1: Basic/{original['id']}: an SDTM dataset definition that defines no "
        "variable; give each variable of the dataset as a 'variable' part (name, label, type)",
    ]


def test_a_variable_or_an_order_given_twice_in_one_record_is_refused(fhir: Path):
    """Two sdtm-variable extensions of one name (or two sdtm-order): the last won unseen."""
    path = fhir / "ndjson" / "AdverseEvent.ndjson"
    original = resource(path, 1)
    twice = copy.deepcopy(original)
    variables = [e for e in twice["extension"] if e["url"].endswith("/sdtm-variable")]
    twice["extension"].append(copy.deepcopy(variables[0]))
    put(path, 1, twice)
    name = variables[0]["extension"][0]["valueString"]
    position = len(twice["extension"]) - 1
    assert gathered(fhir) == [
        f"{path}, line 1: AdverseEvent/{original['id']}: extension[{position}] gives variable "
        f"{name} again; give each value once",
    ]
    order = copy.deepcopy(original)
    order["extension"] += [e for e in order["extension"] if e["url"].endswith("/sdtm-order")]
    put(path, 1, order)
    assert gathered(fhir) == [
        f"{path}, line 1: AdverseEvent/{original['id']}: extension[{len(order['extension']) - 1}]"
        " gives the record's order again; give each value once",
    ]
