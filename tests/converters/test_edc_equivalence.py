"""The issue's acceptance test: the PLMSC study converted from its CSV exports, from its ODM
1.3.2 export and from its REDCap export gives identical SDTM, every dataset compared, and the
XPT files byte for byte."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import ROOT
from trialbridge import api

FIXTURES = ROOT / "fixtures"
VARIANTS = ["plmsc-spms-odm", "plmsc-spms-redcap"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[api.Converted, Path]]:
    done = {}
    for name in ["plmsc-spms", *VARIANTS]:
        out = tmp_path_factory.mktemp(name)
        done[name] = (api.convert(FIXTURES / name, out), out / "sdtm")
    return done


@pytest.mark.parametrize("variant", VARIANTS)
def test_same_datasets(converted: dict[str, tuple[api.Converted, Path]], variant: str):
    csv, _ = converted["plmsc-spms"]
    edc, _ = converted[variant]
    assert list(edc.datasets) == list(csv.datasets)
    assert len(csv.datasets) == 19  # DM ... RELREC: nothing is compared vacuously


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_dataset_is_equal(converted: dict[str, tuple[api.Converted, Path]], variant: str):
    csv, _ = converted["plmsc-spms"]
    edc, _ = converted[variant]
    for name, dataset in csv.datasets.items():
        other = edc.datasets[name]
        assert [v.name for v in other.variables] == [v.name for v in dataset.variables], name
        pd.testing.assert_frame_equal(other.frame, dataset.frame, obj=f"{variant} {name}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_xpt_files_are_byte_identical(
    converted: dict[str, tuple[api.Converted, Path]], variant: str
):
    _, csv_folder = converted["plmsc-spms"]
    _, edc_folder = converted[variant]
    expected = sorted(p.name for p in csv_folder.glob("*.xpt"))
    assert sorted(p.name for p in edc_folder.glob("*.xpt")) == expected
    assert len(expected) == 19
    for name in expected:
        assert (edc_folder / name).read_bytes() == (csv_folder / name).read_bytes(), name


def test_the_variants_read_their_exports(converted: dict[str, tuple[api.Converted, Path]]):
    """Spot checks that the EDC specs really read the exports: the partial rituximab start
    date (ODM partialDate 2019-03, REDCap text UN/03/2019) and the unscheduled CBC."""
    for name in VARIANTS:
        converted_, _ = converted[name]
        cm = converted_.datasets["CM"].frame
        start = cm.loc[(cm["USUBJID"] == "PLMSC-SPMS-01-001") & (cm["CMTRT"] == "Rituximab")]
        assert start["CMSTDTC"].tolist() == ["2019-03"], name
        lb = converted_.datasets["LB"].frame
        unscheduled = lb.loc[lb["VISIT"].str.startswith("UNSCHEDULED"), "LBDTC"]
        assert sorted(set(unscheduled)) == ["2021-08-12T09:10"], name
