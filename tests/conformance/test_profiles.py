"""validate --profile: the rules and severities of Pinnacle 21's FDA configuration, PMDA's rules
and CDISC CORE. Severities checked by hand against the sources: the FDA configuration's six
Type="Reject" rules (SDTM-IG 3.4 (FDA).xml), PMDA's Study Data Validation Rules v2.0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import STUDY, run_cli
from trialbridge import api
from trialbridge.conformance.profiles import agency_severities, rules_for
from trialbridge.conformance.rule import shipped_rules


def test_the_severities_are_the_sources():
    known = agency_severities()
    rejects = sorted(i for i, s in known.items() if s["fda"])
    assert rejects == ["DD0101", "SD1020", "SD1115", "SD2232", "SD2247", "SD2247A"]
    assert {known[i]["fda"] for i in rejects} == {"Reject"}
    # PMDA v2.0: required variable null is a Reject there, units consistency a Warning,
    # negative --DUR an Error, a DOMAIN value mismatch a Warning
    pmda = {i: known[i]["pmda"] for i in ("SD0002", "SD0007", "SD0015", "SD0004", "SD1020")}
    assert pmda == {
        "SD0002": "Reject",
        "SD0007": "Warning",
        "SD0015": "Error",
        "SD0004": "Warning",
        "SD1020": "Reject",
    }


def _by_id(profile: str | None) -> dict[str, str]:
    return {r.id: r.severity for r in rules_for(profile)}


def test_the_fda_profile_runs_the_fda_configurations_checks_with_its_rejects():
    fda = _by_id("fda")
    assert fda["TB0045"] == "Reject"  # DD0101: no define.xml (trialbridge's own: Warning)
    assert fda["TB0156"] == "Reject"  # SD2247: SSTDTC not ISO 8601
    assert fda["TB0021"] == "Error"  # SD0007: the configuration sets none; the rule's own
    assert "TB0157" not in fda  # CORE-000672 only: no P21 or FDA id
    for rule in rules_for("fda"):
        in_config = [i for i in rule.references.p21 if agency_severities().get(i, {}).get("in_fda")]
        assert in_config or rule.references.fda, rule.id


def test_the_pmda_profile_takes_pmdas_severities():
    pmda = _by_id("pmda")
    assert pmda["TB0011"] == "Reject"  # SD0002
    assert pmda["TB0019"] == "Warning"  # SD0004
    assert pmda["TB0021"] == "Warning"  # SD0007
    assert "TB0157" not in pmda


def test_the_core_profile_runs_the_rules_citing_core():
    core = _by_id("core")
    assert set(core) == {r.id for r in shipped_rules() if r.references.core}
    assert all(core[r.id] == r.severity for r in shipped_rules() if r.id in core)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PLMSC datasets without their define.xml."""
    out = tmp_path_factory.mktemp("plmsc")
    api.convert(STUDY, out, formats=("xpt",))
    (out / "sdtm" / "define.xml").unlink()
    return out / "sdtm"


def test_a_folder_without_define_xml_is_rejected_only_under_the_fda_profile(
    bare: Path, tmp_path: Path
):
    default = run_cli("validate", bare, "--out", tmp_path / "default")
    assert default.exit_code == 0, default.output
    assert "TB0045   Warning" in default.output
    fda = run_cli("validate", bare, "--out", tmp_path / "fda", "--profile", "fda")
    assert fda.exit_code == 1
    assert "TB0045    Reject" in fda.output
