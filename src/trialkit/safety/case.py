"""One case as the regulators receive it: the facts the CIOMS I form and the E2B(R3) ICSR share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trialkit.safety.sae import SaeReport
from trialkit.safety.susar import Assessment

__all__ = ["Case"]


@dataclass(frozen=True)
class Case:
    """An SAE case at its latest version, with the sponsor's assessment.

    ``products`` names each drug of the assessment as it is reported (the blinded study
    drug by its active substance only once the case is unblinded on it, otherwise
    ``"sorafenib or placebo (blinded)"``).
    """

    case_id: str
    version: int
    sender: str
    trial_acronym: str
    protocol_id: str
    trial_title: str
    country: str
    site_code: str
    patient: str
    sex: str
    age_years: int | None
    report: SaeReport
    assessment: Assessment
    products: dict[str, str]
    first_received: dt.datetime
    latest_received: dt.datetime
    created: dt.datetime
    meddra_version: str | None = None
