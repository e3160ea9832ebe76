"""The demo's safety data: SAE reports of the demo's serious adverse events, one report still
incomplete (overdue), and one SUSAR reviewed and unblinded by the demo safety physician."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.demodata import CTCAE_TERMS
from trialkit.protocol import Protocol
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.calendar import on_calendar
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.randomisation.randomised import randomised_arm
from trialkit.service.safety import sae
from trialkit.service.screening.tables import Patient

__all__ = ["seed_safety"]


def _aware(day: dt.date) -> str:
    return f"{day.isoformat()}T09:00:00+00:00"


def _blinded_drug(protocol: Protocol) -> str:
    """The drug of the reference safety information the trial blinds (its study drug)."""
    safety = sae.protocol_safety(protocol)
    return next(iter(safety.blinded()), safety.drugs()[0])


def _causality(protocol: Protocol, term: str, study_drug: str) -> dict[str, str]:
    """The investigator's causality per drug: ``study_drug`` for the blinded drug; for the
    open ones, possible when the event is among the drug's expected reactions."""
    safety = sae.protocol_safety(protocol)
    blinded = _blinded_drug(protocol)
    expected = safety.expected()
    return {
        drug: study_drug
        if drug == blinded
        else ("possible" if term in expected[drug] else "not_related")
        for drug in safety.drugs()
    }


def _serious_events(
    session: Session, protocol: Protocol, trial_id: int
) -> list[tuple[Patient, CaptureRecord]]:
    """The latest version of every adverse event marked serious, by start date."""
    safety = sae.protocol_safety(protocol)
    latest: dict[tuple[int, str], tuple[Patient, CaptureRecord]] = {}
    for patient, record in session.execute(
        select(Patient, CaptureRecord)
        .join(CaptureRecord, CaptureRecord.patient_id == Patient.id)
        .where(Patient.trial_id == trial_id, CaptureRecord.form == safety.adverse_event_form)
        .order_by(CaptureRecord.version)
    ):
        latest[(patient.id, record.record_key)] = (patient, record)
    serious = [
        (p, r) for p, r in latest.values() if r.data.get(safety.serious_item) and r.data.get("term")
    ]
    return sorted(serious, key=lambda pr: (str(pr[1].data.get("start_date")), pr[0].id))


def seed_safety(
    session: Session,
    *,
    security: Security,
    protocol: Protocol,
    trial_id: int,
    investigators: dict[int, Principal],
    safety_physician: Principal,
    password: str,
    cutoff: dt.date,
) -> int:
    """Report the demo's serious adverse events (``investigators``: by site id) and one SUSAR;
    returns the number of SAE cases."""
    events = _serious_events(session, protocol, trial_id)
    cases = 0
    for position, (patient, record) in enumerate(events):
        start = dt.date.fromisoformat(str(record.data["start_date"]))
        if start > cutoff:
            continue
        grade = record.data.get("grade")
        term = CTCAE_TERMS.get(str(record.data["term"]), str(record.data["term"]))
        values: dict[str, Any] = {
            "ae_record_key": record.record_key,
            "term": term,
            "onset_date": start.isoformat(),
            "criteria": ["hospitalisation"] + (["life_threatening"] if grade == 4 else []),
            "aware_at": _aware(start),
            "causality": _causality(
                protocol, term, str(record.data.get("relationship") or "possible")
            ),
            "outcome": "recovered",
            "narrative": f"Admitted with {term.lower()} (grade {grade}); treated and discharged.",
        }
        if isinstance(grade, int):
            values["grade"] = grade
        if position == len(events) - 1:  # the latest: reported without its narrative, overdue
            del values["narrative"]
        with on_calendar(start):
            sae.report_sae(
                session=session,
                actor=investigators[patient.site_id],
                patient_id=patient.id,
                values=values,
            )
        cases += 1
    # one SUSAR: an unexpected, life-threatening event on sorafenib, reviewed and unblinded
    on_active = next(
        (
            p
            for p in session.scalars(
                select(Patient).where(Patient.trial_id == trial_id).order_by(Patient.id)
            )
            if p.site_id in investigators
            and randomised_arm(session=session, patient=p) is not None
            and protocol.arm(randomised_arm(session=session, patient=p) or "").role == "treatment"
        ),
        None,
    )
    if on_active is None:
        return cases
    day = cutoff - dt.timedelta(days=3)
    with on_calendar(day):
        case = sae.report_sae(
            session=session,
            actor=investigators[on_active.site_id],
            patient_id=on_active.id,
            values={
                "term": "Stroke",
                "grade": 4,
                "onset_date": day.isoformat(),
                "criteria": ["life_threatening", "hospitalisation"],
                "aware_at": _aware(day),
                "causality": _causality(protocol, "Stroke", "possible"),
                "outcome": "recovering",
                "narrative": "Sudden left-sided weakness; CT showed an ischaemic stroke; "
                "thrombolysed, recovering on the stroke unit.",
            },
        )
        assert case.case_number is not None
        sae.review_case(
            session=session,
            actor=safety_physician,
            patient_id=on_active.id,
            case_number=case.case_number,
            causality={_blinded_drug(protocol): "probable"},
            comment="Stroke is not among the study drug's expected reactions (RSI); plausible.",
        )
        sae.unblind_case(
            session=session,
            security=security,
            actor=safety_physician,
            patient_id=on_active.id,
            case_number=case.case_number,
            password=password,
            reason="serious, related and unexpected: SUSAR assessment needs the arm",
        )
    return cases + 1
