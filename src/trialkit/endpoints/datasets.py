"""Analysis datasets: ADSL-like (one row per patient) and ADTTE-like (one row per patient per
time-to-event parameter), as typed rows with CDISC ADaM variable names.

The arm variables (:data:`ARM_COLUMNS`: ``ARM``/``ARMCD``, ``ACTARM``/``ACTARMCD`` and the
planned and actual treatment ``TRT01P``/``TRT01PN``/``TRT01A``/``TRT01AN``) are filled only
when the caller builds an unblinded dataset, from the protocol's arms (:func:`planned_arms`);
blinded users get the same rows with them blank, and the files leave them out.

References
----------
CDISC Analysis Data Model (ADaM) v2.1, ADaMIG v1.1 (ADSL) and the ADaM Basic Data Structure
for Time-to-Event Analyses v1.0 (``PARAMCD``, ``AVAL``, ``CNSR``, ``STARTDT``, ``ADT``,
``EVNTDESC``, ``CNSDTDSC``).
"""

from __future__ import annotations

import csv
import io
import re
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
from trialkit.protocol.model import Arm, ResponseCriteria

__all__ = [
    "ARM_COLUMNS",
    "PARAMS",
    "AdslRow",
    "AdtteRow",
    "PlannedArm",
    "actual_arm",
    "build_adsl",
    "build_adtte",
    "csv_text",
    "planned_arms",
]

ARM_COLUMNS = (
    "ARM",
    "ARMCD",
    "ACTARM",
    "ACTARMCD",
    "TRT01P",
    "TRT01PN",
    "TRT01A",
    "TRT01AN",
)
"""The columns that name an arm: blinded datasets leave them out."""

YesNo = Literal["Y", "N"]

PARAMS = {
    "PFS": "Progression-free survival (days)",
    "TTP": "Time to progression (days)",
    "OS": "Overall survival (days)",
    "DOR": "Duration of response (days)",
}


@dataclass(frozen=True)
class PlannedArm:
    """A protocol arm as the datasets name it: ``ARMCD``, ``ARM`` and ``TRT01PN``."""

    code: str
    name: str
    number: int


def planned_arms(arms: Sequence[Arm]) -> dict[str, PlannedArm]:
    """Protocol arm id -> its dataset names, numbered in protocol order.

    ``ARM`` is the arm's label (``Sorafenib``) and ``ARMCD`` its label in capitals without
    spaces or punctuation, at most 20 characters (``SORAFENIB``), as SDTMIG asks.
    """
    return {
        arm.id: PlannedArm(re.sub(r"[^A-Z0-9]", "", arm.label.upper())[:20], arm.label, k)
        for k, arm in enumerate(arms, 1)
    }


@dataclass(frozen=True)
class AdslRow:
    """One patient (ADSL)."""

    STUDYID: str
    USUBJID: str
    SUBJID: str
    SITEID: str
    COUNTRY: str | None
    AGE: int | None
    AGEU: str | None
    SEX: str | None
    ARM: str | None
    ARMCD: str | None
    ACTARM: str | None
    ACTARMCD: str | None
    TRT01P: str | None
    TRT01PN: int | None
    TRT01A: str | None
    TRT01AN: int | None
    RANDDT: date
    TRTSDT: date | None
    TRTEDT: date | None
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
    TRT01P: str | None
    TRT01PN: int | None
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


def _planned(
    patient: PatientOutcome, unblinded: bool, arms: Mapping[str, PlannedArm] | None
) -> PlannedArm | None:
    if not unblinded or patient.arm is None:
        return None
    return (arms or {}).get(patient.arm) or PlannedArm(patient.arm, patient.arm, 0)


def actual_arm(
    patient: PatientOutcome, unblinded: bool, arms: Mapping[str, PlannedArm] | None
) -> PlannedArm | None:
    """The arm the patient was treated in: that of every kit dispensed to her.

    ``None`` when blinded, when she took no study drug, or when her kits came from more than
    one arm (an unplanned treatment); the planned arm when she took study drug but no kit
    dispensing is recorded.
    """
    planned = _planned(patient, unblinded, arms)
    if planned is None or patient.first_dose_date is None or len(patient.kit_arms) > 1:
        return None
    if patient.kit_arms and patient.kit_arms[0] != patient.arm:
        return (arms or {}).get(patient.kit_arms[0])
    return planned


def build_adsl(
    patients: Sequence[PatientOutcome],
    *,
    studyid: str,
    unblinded: bool = False,
    arms: Mapping[str, PlannedArm] | None = None,
) -> tuple[AdslRow, ...]:
    """One ADSL row per randomised patient.

    ``ITTFL`` is Y for every randomised patient, ``SAFFL`` for those who received any study
    drug (a first-dose date), ``PPROTFL`` for safety-population patients without a major
    protocol deviation. ``LSTALVDT`` is the date of death or the date last known alive.
    ``TRT01P`` is the randomised arm, ``TRT01A`` the arm of the kits taken
    (:func:`actual_arm`); ``AGE`` is in completed years at randomisation.
    """
    rows = []
    for p in patients:
        planned = _planned(p, unblinded, arms)
        actual = actual_arm(p, unblinded, arms)
        safety = p.first_dose_date is not None
        rows.append(
            AdslRow(
                STUDYID=studyid,
                USUBJID=p.usubjid,
                SUBJID=p.usubjid.removeprefix(f"{studyid}-"),
                SITEID=p.siteid,
                COUNTRY=p.country,
                AGE=p.age,
                AGEU=None if p.age is None else "YEARS",
                SEX=p.sex,
                ARM=None if planned is None else planned.name,
                ARMCD=None if planned is None else planned.code,
                ACTARM=None if actual is None else actual.name,
                ACTARMCD=None if actual is None else actual.code,
                TRT01P=None if planned is None else planned.name,
                TRT01PN=None if planned is None else planned.number,
                TRT01A=None if actual is None else actual.name,
                TRT01AN=None if actual is None else actual.number,
                RANDDT=p.randomisation_date,
                TRTSDT=p.first_dose_date,
                TRTEDT=p.last_dose_date,
                STRATAR=p.stratum,
                BGTHER=p.background_therapy,
                ITTFL="Y",
                SAFFL="Y" if safety else "N",
                PPROTFL="Y" if safety and p.per_protocol else "N",
                DTHFL="Y" if p.death_date is not None else "N",
                DTHDT=p.death_date,
                DTHCAUS=p.death_cause,
                LSTALVDT=p.death_date or p.last_alive_date,
            )
        )
    return tuple(rows)


def _row(
    studyid: str, patient: PatientOutcome, tte: TimeToEvent, arm: PlannedArm | None
) -> AdtteRow:
    return AdtteRow(
        STUDYID=studyid,
        USUBJID=patient.usubjid,
        ARM=None if arm is None else arm.name,
        ARMCD=None if arm is None else arm.code,
        TRT01P=None if arm is None else arm.name,
        TRT01PN=None if arm is None else arm.number,
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
    arms: Mapping[str, PlannedArm] | None = None,
) -> tuple[AdtteRow, ...]:
    """PFS, TTP and OS rows for every patient and a DOR row for every responder.

    One row per patient per parameter (the ADaM BDS for time-to-event); ``AVAL`` in days from
    ``STARTDT`` (randomisation) to ``ADT``, ``CNSR`` 0 for an event.
    """
    rules = rules or CensoringRules.fda()
    rows: list[AdtteRow] = []
    for p in patients:
        arm = _planned(p, unblinded, arms)
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
