"""The time zone of each record's site: an SDTM date-time is local time without a zone, and
FHIR wants a dateTime with a time to carry its UTC offset. Sites declare an IANA zone in
study.yaml (or `--timezone` gives them); a record's site is its subject's DM SITEID."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from trialbridge.sdtm.dataset import Dataset

EVERY_SITE = "*"  # a zone given for every site


@dataclass(frozen=True)
class Zones:
    """USUBJID -> the IANA time zone of the subject's site."""

    by_subject: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, dm: Dataset | None, sites: dict[str, str]) -> Zones:
        """The zone of each DM subject from its SITEID (`*`: every site)."""
        if dm is None or not sites or "USUBJID" not in dm.frame:
            return cls()
        frame = dm.frame
        site = frame["SITEID"].astype("string") if "SITEID" in frame else None
        zone = pd.Series(sites.get(EVERY_SITE), index=frame.index, dtype="object")
        if site is not None:
            zone = site.map(sites).astype("object").where(site.isin(list(sites)), zone)
        found = zone.notna()
        return cls(dict(zip(frame["USUBJID"].astype(str)[found], zone[found], strict=True)))

    def per_record(self, frame: pd.DataFrame) -> pd.Series | None:
        """Each record's zone name (None where its subject has none); None without subjects."""
        if not self.by_subject or "USUBJID" not in frame:
            return None
        return frame["USUBJID"].astype("object").map(self.by_subject).reset_index(drop=True)
