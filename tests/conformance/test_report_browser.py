"""validation.html in a real browser (Debian's chromium, headless, driven by Playwright): it
loads with no script or console error and no network request, its filter shows the rows a
reader would count by hand, and a screenshot of it is a real, non-blank picture; a page of
100,000 findings against a baseline pages, filters and compares by the counts worked out by
hand."""

import base64
import dataclasses
import struct
import zlib
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.helpers import run_cli
from trialbridge.conformance import report_html
from trialbridge.conformance.baseline import compare
from trialbridge.conformance.engine import Finding

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
    "--force-color-profile=srgb",  # the page's hex colours land unchanged in the screenshot
]
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """validation.html of a two-dataset folder with planted errors. Errors (10): AESEQ 1
    twice for S1-001 (2), S1-002 twice in DM (USUBJID 2, SUBJID 2), S1-009 not in DM (1),
    dates 'bad' and '2024-13-01' (2), SEX 'X' (1), DM without AGE or AGETXT (1), no TA and
    no TE (2). Reject (1): no TS. Warnings (37): missing Expected variables (27), no define.xml,
    DM variable order, no DS records (3), AE without AESTDY, no VS, EX, DS or SE (4)."""
    folder = tmp_path_factory.mktemp("broken")
    sdtm = folder / "sdtm"
    sdtm.mkdir()
    dm = pd.DataFrame(
        {
            "STUDYID": ["S1"] * 3,
            "DOMAIN": ["DM"] * 3,
            "USUBJID": ["S1-001", "S1-002", "S1-002"],
            "SUBJID": ["001", "002", "002"],
            "SITEID": ["01"] * 3,
            "SEX": ["M", "F", "X"],
            "ARMCD": ["A"] * 3,
            "ARM": ["Drug"] * 3,
            "ACTARMCD": ["A"] * 3,
            "ACTARM": ["Drug"] * 3,
            "COUNTRY": ["USA"] * 3,
            "RFSTDTC": ["2024-01-05", "2024-13-01", "2024-02-01"],
        }
    )
    ae = pd.DataFrame(
        {
            "STUDYID": ["S1"] * 3,
            "DOMAIN": ["AE"] * 3,
            "USUBJID": ["S1-001", "S1-001", "S1-009"],
            "AESEQ": [1.0, 1.0, 1.0],
            "AETERM": ["Headache", "Nausea", "Rash"],
            "AEDECOD": ["Headache", "Nausea", "Rash"],
            "AESTDTC": ["2024-01-06", "2024-01-07", "bad"],
        }
    )
    for name, frame in (("DM", dm), ("AE", ae)):
        path = sdtm / f"{name.lower()}.xpt"
        pyreadstat.write_xport(frame, str(path), table_name=name, file_format_version=5)
    result = run_cli("validate", sdtm, "--out", folder / "out")
    assert result.exit_code == 1, result.output
    return folder / "out" / "validation.html"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} not found: the browser test needs Debian's chromium "
            "(apt-get install chromium; .ci/run installs it)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def test_the_report_opens_filters_and_screenshots_cleanly(
    report: Path, browser: Browser, tmp_path: Path
):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri(), wait_until="load")

    assert page.title() == "trialbridge validation: sdtm"
    # the submission: Reject, Error, Warning; AE and DM: Error, Warning
    assert page.locator("svg[role=img] rect").count() == 7
    assert _visible(page) == 51 and _shown(page) == "51"  # 1 Reject, 13 Error, 37 Warning
    page.select_option("#s", "Error")
    assert _visible(page) == 13 and _shown(page) == "13"
    page.select_option("#s", "Reject")
    assert _visible(page) == 1 and _shown(page) == "1"
    page.select_option("#s", "")
    page.fill("#q", "s1-009")  # the orphan AE record: not in DM, and its date 'bad'
    assert _visible(page) == 2 and _shown(page) == "2"
    page.fill("#q", "S1-002")  # with Error: two DM records (4), its date and its SEX
    page.select_option("#s", "Error")
    assert _visible(page) == 6 and _shown(page) == "6"
    page.fill("#q", "")
    page.select_option("#s", "")
    assert _visible(page) == 51

    page.evaluate("window.scrollTo(0, 0)")  # the filter's focus scrolled down to the table
    shot = tmp_path / "validation.png"
    png = page.screenshot(path=shot)
    assert shot.read_bytes() == png
    assert _png_size(png) == (WIDTH, HEIGHT)
    colours = _colours(page, png)
    assert len(colours) > 20, colours
    # the Reject, Error and Warning fills of the badges and bars are on screen
    assert {(0x7F, 0x1D, 0x1D), (0xDC, 0x26, 0x26), (0xD9, 0x77, 0x06)} <= colours

    assert problems == []
    assert requests == [report.as_uri()], requests  # the page alone: no scripts, fonts, images
    context.close()


def _visible(page: Page) -> int:
    return page.locator("#findings tbody tr:visible").count()


def _shown(page: Page) -> str:
    return page.locator("#shown").inner_text()


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG: signature, every chunk's CRC, IHDR for 8-bit
    RGB(A), and image data that inflates to exactly height rows of width pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, order, at = {}, [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, body = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        order.append(kind)
        at += 12 + length
    assert order[0] == b"IHDR" and order[-1] == b"IEND"
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6)
    channels = 3 if colour_type == 2 else 4
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + width * channels)
    return width, height


def _colours(page: Page, png: bytes) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of the screenshot, decoded by the browser's own PNG decoder
    (a data: URL, so the canvas is not tainted); at most 1000 are returned."""
    found = page.evaluate(
        """async (src) => {
            const img = new Image(); img.src = src; await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.width; canvas.height = img.height;
            const g = canvas.getContext('2d'); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, 0, img.width, img.height).data;
            const seen = new Set();
            for (let i = 0; i < d.length && seen.size < 1000; i += 4)
                seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            return [...seen];
        }""",
        "data:image/png;base64," + base64.b64encode(png).decode(),
    )
    return {(c >> 16, (c >> 8) & 0xFF, c & 0xFF) for c in found}


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """validation.html of 100,000 findings against a baseline: TB0007 (Error) on LB records
    1-90,000 of subjects S-0..S-899 (100 records each), the first 60,000 of them already in the
    baseline; TB0036 (Warning) on VS records 1-10,000, all new; one resolved finding."""
    folder = tmp_path_factory.mktemp("large")

    def finding(rule: str, severity: str, dataset: str, record: int) -> Finding:
        subject = f"S-{(record - 1) // 100}"
        return Finding(rule, severity, dataset, record, subject, float(record), "X", "bad", "m")

    findings = [finding("TB0007", "Error", "LB", n) for n in range(1, 90_001)]
    findings += [finding("TB0036", "Warning", "VS", n) for n in range(1, 10_001)]
    before = [dataclasses.asdict(f) for f in findings[:60_000]]
    before.append(dataclasses.asdict(finding("TB0016", "Error", "AE", 1)))
    comparison = compare(findings, before, "old/validation.json")
    report_html.write(findings, folder, "large", comparison)
    return folder / "validation.html"


def test_a_hundred_thousand_findings_page_filter_and_compare(large: Path, browser: Browser):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    page.goto(large.as_uri(), wait_until="load")

    assert _shown(page) == "100000" and _visible(page) == 100
    assert page.locator("#page").inner_text() == "page 1 of 1000"
    page.click("#next")
    assert page.locator("#page").inner_text() == "page 2 of 1000"
    assert page.locator("#findings tbody tr").first.locator("td").nth(3).inner_text() == "101"
    page.select_option("#s", "Warning")  # back to page 1 of the 10,000 warnings
    assert _shown(page) == "10000" and page.locator("#page").inner_text() == "page 1 of 100"
    page.select_option("#s", "")
    page.select_option("#c", "new")  # 30,000 TB0007 and 10,000 TB0036 are new
    assert _shown(page) == "40000"
    page.select_option("#c", "")
    page.fill("#q", "s-899")  # S-899: LB records 89,901-90,000
    assert _shown(page) == "100" and _visible(page) == 100
    page.fill("#q", "")
    page.click("a[data-rule='TB0036']")  # a rule's count shows its findings
    assert page.locator("#r").input_value() == "TB0036" and _shown(page) == "10000"
    assert "Resolved since the baseline (1)" in page.content()
    assert problems == []
    page.close()
