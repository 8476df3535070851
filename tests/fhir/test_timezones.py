"""Date-times with their site's UTC offset (issue 18 point 3). Offsets are worked out by hand
from the tz rules: Iran kept daylight saving (+04:30 from 22 March to 21 September, else
+03:30) until it abolished it in 2022; New York moves from -05:00 to -04:00 at 02:00 on the
second Sunday of March (14 March 2021). Read back, every value gives its SDTM text."""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pyreadstat
import pytest

from tests.helpers import STUDY, copy_study, fails_with, replace_in, run_cli
from trialbridge.fhir.codecs import datetime_from_fhir, datetime_to_fhir
from trialbridge.fhir.table import ORIGINAL_TEXT

TEHRAN, NEW_YORK = ZoneInfo("Asia/Tehran"), ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "zone", "value", "original"),
    [
        ("2021-06-21T10:15", TEHRAN, "2021-06-21T10:15:00+04:30", None),  # summer time
        ("2021-12-16T10:15", TEHRAN, "2021-12-16T10:15:00+03:30", None),  # winter
        ("2023-06-21T10:15", TEHRAN, "2023-06-21T10:15:00+03:30", None),  # no DST since 2022
        ("2021-03-14T01:30", NEW_YORK, "2021-03-14T01:30:00-05:00", None),  # before the change
        ("2021-03-14T03:30", NEW_YORK, "2021-03-14T03:30:00-04:00", None),  # after it
        ("2021-06-21T10:15:30", TEHRAN, "2021-06-21T10:15:30+04:30", None),
        # seconds collected as 00 would read back to the minute: the text rides along
        ("2021-06-21T10:15:00", TEHRAN, "2021-06-21T10:15:00+04:30", "2021-06-21T10:15:00"),
        # partial values stay partial; a time to the hour has no FHIR form
        ("2021-06", TEHRAN, "2021-06", None),
        ("2021", TEHRAN, "2021", None),
        ("2021-06-21T10", TEHRAN, "2021-06-21", "2021-06-21T10"),
        # no zone for the site: FHIR cannot hold the time
        ("2021-06-21T10:15", None, "2021-06-21", "2021-06-21T10:15"),
        # an SDTM value with its own offset is kept as written
        (
            "2021-06-21T10:15:30+01:00",
            TEHRAN,
            "2021-06-21T10:15:30+01:00",
            "2021-06-21T10:15:30+01:00",
        ),
    ],
)
def test_a_date_time_gets_its_zones_offset_and_reads_back(
    text: str, zone: ZoneInfo | None, value: str, original: str | None
):
    assert datetime_to_fhir(text, zone) == (value, original)
    extension = [] if original is None else [{"url": ORIGINAL_TEXT, "valueString": original}]
    assert datetime_from_fhir(value, extension) == text


_TIMED = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_ZONED = re.compile(r"T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _date_times(resource: object) -> list[str]:
    """Every FHIR date-time with a time in a resource (not the SDTM text of extensions)."""
    if isinstance(resource, dict):
        return [v for k, x in resource.items() if k != "valueString" for v in _date_times(x)]
    if isinstance(resource, list):
        return [v for x in resource for v in _date_times(x)]
    return [resource] if isinstance(resource, str) and _TIMED.match(resource) else []


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("zones") / "out"
    result = run_cli("convert", STUDY, "--out", target, "--format", "xpt,fhir")
    assert result.exit_code == 0, result.output
    return target


def test_no_date_time_of_the_study_lacks_its_zone(out: Path):
    found = []
    for path in sorted((out / "fhir" / "ndjson").glob("*.ndjson")):
        for line in path.read_text("utf-8").splitlines():
            found += _date_times(json.loads(line))
    assert found and all(_ZONED.search(v) for v in found)
    # both sites are in Tehran: +04:30 until 21 September 2021, +03:30 after
    offsets = {(v[:10] <= "2021-09-21", v[-6:]) for v in found}
    assert offsets == {(True, "+04:30"), (False, "+03:30")}
    # raw/infusion.csv: subject 001 infused on 21/06/2021 from 10:15 to 10:45
    infusions = (out / "fhir" / "ndjson" / "MedicationAdministration.ndjson").read_text("utf-8")
    assert '"start":"2021-06-21T10:15:00+04:30","end":"2021-06-21T10:45:00+04:30"' in infusions


def test_the_zoned_study_round_trips(out: Path):
    result = run_cli("roundtrip", out / "sdtm", "--timezone", "Asia/Tehran")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("lossless: 19 domains")
    back = run_cli("fhir", "to-sdtm", out / "fhir", "--out", out.parent / "back")
    assert back.exit_code == 0, back.output
    ex, _ = pyreadstat.read_xport(str(out.parent / "back" / "ex.xpt"))
    assert "2021-06-21T10:15" in set(ex.EXSTDTC)


def test_a_site_zone_no_database_knows_is_one_line(tmp_path: Path):
    study = copy_study(tmp_path)
    replace_in(study / "study.yaml", "timezone: Asia/Tehran}", "timezone: Asia/Teheran}")
    fails_with(
        study,
        tmp_path,
        "study.yaml:18: sites.0.timezone: 'Asia/Teheran' is not an IANA time zone; give "
        "one such as Asia/Tehran or America/New_York; see docs/mapping-language.md",
    )


def test_a_timezone_option_no_database_knows_is_one_line(out: Path):
    result = run_cli("roundtrip", out / "sdtm", "--timezone", "01=Mars/Olympus")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --timezone: 'Mars/Olympus' is not an IANA time zone; give ZONE or SITEID=ZONE, "
        "with a zone such as Asia/Tehran or America/New_York\n"
    )
