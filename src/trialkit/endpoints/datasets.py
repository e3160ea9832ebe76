"""Analysis datasets: ADSL-like (one row per patient) and ADTTE-like (one row per patient per
time-to-event parameter), as typed rows with CDISC ADaM variable names.

The arm (``ARM``, ``ARMCD``) is filled only when the caller builds an unblinded dataset; blinded
users get the same rows with the arm blank.

References
----------
CDISC Analysis Data Model (ADaM) v2.1 and the ADaM Basic Data Structure for Time-to-Event
Analyses v1.0 (``PARAMCD``, ``AVAL``, ``CNSR``, ``STARTDT``, ``ADT``, ``EVNTDESC``,
``CNSDTDSC``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Literal

from trialkit.endpoints.derive import (
    CensoringRules,
    PatientOutcome,
    TimeToEvent,
    derive_dor,
    derive_os,
    derive_pfs,
    derive_ttp,
)
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.protocol.model import ResponseCriteria

__all__ = ["PARAMS", "AdslRow", "AdtteRow", "build_adsl", "build_adtte", "csv_text"]

YesNo = Literal["Y", "N"]

PARAMS = {
    "PFS": "Progression-free survival (days)",
    "TTP": "Time to progression (days)",
    "OS": "Overall survival (days)",
    "DOR": "Duration of response (days)",
}


@dataclass(frozen=True)
class AdslRow:
    """One patient (ADSL)."""

    STUDYID: str
    USUBJID: str
    SITEID: str
    ARM: str | None
    ARMCD: str | None
    RANDDT: date
    TRTSDT: date | None
    STRATAR: str | None
    BGTHER: str | None
    ITTFL: YesNo
    SAFFL: YesNo
    PPROTFL: YesNo
    DTHFL: YesNo
    DTHDT: date | None
    DTHCAUS: str | None
    LSTALVDT: date | None


@dataclass(frozen=True)
class AdtteRow:
    """One patient and one time-to-event parameter (ADTTE). ``AVAL`` is in days."""

    STUDYID: str
    USUBJID: str
    ARM: str | None
    ARMCD: str | None
    PARAMCD: str
    PARAM: str
    STARTDT: date
    ADT: date
    AVAL: int
    AVALU: str
    CNSR: int
    EVNTDESC: str
    CNSDTDSC: str
    SRCRULE: str


def _arm(
    patient: PatientOutcome, unblinded: bool, labels: Mapping[str, str] | None
) -> tuple[str | None, str | None]:
    if not unblinded or patient.arm is None:
        return None, None
    return (labels or {}).get(patient.arm, patient.arm), patient.arm


def build_adsl(
    patients: Sequence[PatientOutcome],
    *,
    studyid: str,
    unblinded: bool = False,
    arm_labels: Mapping[str, str] | None = None,
) -> tuple[AdslRow, ...]:
    """One ADSL row per randomised patient.

    ``ITTFL`` is Y for every randomised patient, ``SAFFL`` for those who received any study
    drug (a first-dose date), ``PPROTFL`` for safety-population patients without a major
    protocol deviation. ``LSTALVDT`` is the date of death or the date last known alive.
    """
    rows = []
    for p in patients:
        arm, armcd = _arm(p, unblinded, arm_labels)
        safety = p.first_dose_date is not None
        rows.append(
            AdslRow(
                STUDYID=studyid,
                USUBJID=p.usubjid,
                SITEID=p.siteid,
                ARM=arm,
                ARMCD=armcd,
                RANDDT=p.randomisation_date,
                TRTSDT=p.first_dose_date,
                STRATAR=p.stratum,
                BGTHER=p.background_therapy,
                ITTFL="Y",
                SAFFL="Y" if safety else "N",
                PPROTFL="Y" if safety and p.per_protocol else "N",
                DTHFL="Y" if p.death_date is not None else "N",
                DTHDT=p.death_date,
                DTHCAUS=p.death_cause,
                LSTALVDT=p.death_date or p.last_known_alive,
            )
        )
    return tuple(rows)


def _row(
    studyid: str, patient: PatientOutcome, tte: TimeToEvent, arm: tuple[str | None, str | None]
) -> AdtteRow:
    return AdtteRow(
        STUDYID=studyid,
        USUBJID=patient.usubjid,
        ARM=arm[0],
        ARMCD=arm[1],
        PARAMCD=tte.paramcd,
        PARAM=PARAMS[tte.paramcd],
        STARTDT=tte.start,
        ADT=tte.date,
        AVAL=tte.days,
        AVALU="DAYS",
        CNSR=tte.cnsr,
        EVNTDESC=tte.rule.evntdesc,
        CNSDTDSC=tte.rule.cnsdtdsc,
        SRCRULE=tte.rule.code,
    )


def build_adtte(
    patients: Sequence[PatientOutcome],
    *,
    studyid: str,
    rules: CensoringRules | None = None,
    criteria: ResponseCriteria = DEFAULT_CRITERIA,
    unblinded: bool = False,
    arm_labels: Mapping[str, str] | None = None,
) -> tuple[AdtteRow, ...]:
    """PFS, TTP and OS rows for every patient and a DOR row for every responder."""
    rules = rules or CensoringRules.fda()
    rows: list[AdtteRow] = []
    for p in patients:
        arm = _arm(p, unblinded, arm_labels)
        derived = [derive_pfs(p, rules), derive_ttp(p, rules), derive_os(p)]
        dor = derive_dor(p, rules, criteria)
        if dor is not None:
            derived.append(dor)
        rows.extend(_row(studyid, p, tte, arm) for tte in derived)
    return tuple(rows)


def csv_text(rows: Iterable[AdslRow | AdtteRow], *, omit: Collection[str] = ()) -> str:
    """The rows as CSV text (header of ADaM names; ISO dates; blank for missing).

    ``omit`` leaves columns out: blinded datasets leave out ``ARM`` and ``ARMCD`` entirely.
    """
    listed = list(rows)
    if not listed:
        return ""
    names = [f.name for f in fields(listed[0]) if f.name not in omit]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for row in listed:
        values = [getattr(row, n) for n in names]
        writer.writerow(
            "" if v is None else v.isoformat() if isinstance(v, date) else v for v in values
        )
    return out.getvalue()
