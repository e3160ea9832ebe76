"""What the trial report is computed from: analysis datasets at a data cut-off, as pure data.

The service fills a :class:`ReportInputs` from the database (blinded: no arm anywhere in it);
the report builder only reads it. Its SHA-256 over a canonical JSON form is the report's *data
snapshot hash*: two reports with the same hash were computed from the same data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trialkit.analysis import AdverseEvent, ConsortPatient
from trialkit.endpoints import AdslRow, AdtteRow
from trialkit.safety.dsmb import DsmbPatient

__all__ = ["ArmInfo", "DataIssueRow", "DesignFacts", "ReportInputs", "snapshot_sha256"]


@dataclass(frozen=True, slots=True)
class ArmInfo:
    """A protocol arm: its code (``ARMCD``), label (``ARM``) and whether it is the control."""

    code: str
    label: str
    control: bool


@dataclass(frozen=True, slots=True)
class DesignFacts:
    """The protocol's decision rule and the design it was sized for."""

    events: int
    decision_hr: float
    alternative_hr: float
    allocation_ratio: float
    alpha_one_sided: float


@dataclass(frozen=True, slots=True)
class DataIssueRow:
    """A recorded inconsistency of one patient: what contradicts what, and how the analyses
    handled it (the date set aside until the site answers the query). Never an arm."""

    usubjid: str
    what: str
    handling: str


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows is computed from these, and only these.

    ``adsl``/``adtte`` carry ``ARM`` only in an unblinded report; ``adtte_ema`` is the same
    derivation under the EMA 2012 censoring rules; ``best_response`` is each ITT patient's best
    overall response (CR, PR, SD, PD, NE); ``exposure_days`` the days on study drug of the
    safety population; ``country`` each patient's site country; ``criteria`` the short text of
    each numbered eligibility criterion, by id, in the protocol's order; ``data_issues`` the
    analysed patients' recorded inconsistencies, by patient.
    """

    trial: str
    title: str
    cutoff: dt.date
    software_version: str
    blinded: bool
    arms: tuple[ArmInfo, ...]
    design: DesignFacts | None
    adsl: tuple[AdslRow, ...]
    adtte: tuple[AdtteRow, ...]
    adtte_ema: tuple[AdtteRow, ...]
    best_response: Mapping[str, str]
    adverse_events: tuple[AdverseEvent, ...]
    exposure_days: Mapping[str, int]
    consort: tuple[ConsortPatient, ...]
    country: Mapping[str, str]
    criteria: Mapping[str, str] = dataclasses.field(default_factory=dict)
    data_issues: tuple[DataIssueRow, ...] = ()
    safety: tuple[DsmbPatient, ...] = ()
    """The safety population's SAE cases, SUSARs (unblinded only) and first grade 3+ events."""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot_sha256(inputs: ReportInputs) -> str:
    """SHA-256 of the canonical JSON of the analysis data (not of the title or software)."""
    data = {
        "trial": inputs.trial,
        "cutoff": inputs.cutoff,
        "blinded": inputs.blinded,
        "adsl": inputs.adsl,
        "adtte": inputs.adtte,
        "adtte_ema": inputs.adtte_ema,
        "best_response": inputs.best_response,
        "adverse_events": inputs.adverse_events,
        "exposure_days": inputs.exposure_days,
        "consort": inputs.consort,
        "country": inputs.country,
    }
    if inputs.data_issues:  # the datasets do not show a date set aside; the snapshot does
        data["data_issues"] = inputs.data_issues
    if inputs.safety:
        data["safety"] = inputs.safety
    text = json.dumps(_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
