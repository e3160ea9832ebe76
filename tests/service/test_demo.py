"""The demo trial seeded through the service (issue 9 section 2), on SQLite and PostgreSQL.

A small demo (:data:`tests.demo_fixtures.SMALL_DEMO`) stands in for the full one: the same
code seeds 240 women for ``make run``. Seeding takes seconds (more on PostgreSQL), so one test
per database checks every property of one seeded trial.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.demo_fixtures import SMALL_DEMO, SeededDemo
from tests.records import sor_record
from trialkit.analysis import consort_flow
from trialkit.demodata.records import screening_record
from trialkit.errors import InactiveSiteError
from trialkit.protocol import load_protocol
from trialkit.screening import screen
from trialkit.service.capture.edit_checks import all_dates
from trialkit.service.capture.outcomes import derive_datasets
from trialkit.service.capture.tables import CaptureRecord, DataQuery
from trialkit.service.demo import INBOX_DAYS, SETTLED_KINDS, DemoOptions, seed_demo
from trialkit.service.oversight import monitoring
from trialkit.service.oversight.exports import sdtm_export
from trialkit.service.oversight.sdtm_checks import KNOWN_GAPS
from trialkit.service.oversight.trial_report import report_inputs
from trialkit.service.platform import audit
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.tables.notifications import Delivery, Notification
from trialkit.service.platform.views import UnblindedPatientView, UnblindedRandomisationView
from trialkit.service.randomisation import randomisation, reports, supply
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.randomisation.tables.supply import Dispensing
from trialkit.service.screening import patients
from trialkit.service.screening.tables import Patient, ScreeningRecordVersion
from trialkit.service.trials.trials import enrolment_open, get_trial_or_raise

ARM_WORDS = ("sorafenib", "placebo", '"arm"')


def _in_progress_with_an_intact_audit_trail(session: Session, demo_trial: SeededDemo) -> None:
    outcome = demo_trial.outcome
    assert outcome.created
    assert outcome.cutoff is not None
    trial = get_trial_or_raise(session, demo_trial.trial_id)
    assert enrolment_open(trial, outcome.cutoff)  # an investigator can still randomise
    assert outcome.screened <= SMALL_DEMO.patients
    randomised = session.scalars(select(Randomisation)).all()
    assert len(randomised) == outcome.randomised > 10
    assert all(r.enrolment_date <= outcome.cutoff for r in randomised)
    first_kits = session.scalars(select(Dispensing.patient_id).where(Dispensing.cycle == 1)).all()
    assert sorted(first_kits) == sorted(r.patient_id for r in randomised)
    for record in session.scalars(select(CaptureRecord)):  # nothing dated after the cut-off
        assert all(day <= outcome.cutoff for _, day in all_dates(record.data)), record.data
    for screening in session.scalars(select(ScreeningRecordVersion)):  # but the plan
        data = screening.data
        dated = [d for path, d in all_dates(data) if path != "planned_randomisation_date"]
        dated += [dt.date.fromisoformat(d) for d in data["disease"]["scan_dates"]]
        assert max(dated) <= outcome.cutoff, data
    report = audit.verify_trail(session=session)
    assert report.intact, report.summary()
    # the edit checks query only the fields left blank on purpose: the data are consistent
    codes = set(session.scalars(select(DataQuery.code)))
    assert codes <= {"missing_required"}, codes


def _pfs_events_derived_from_the_records_are_the_generators(
    session: Session, demo_trial: SeededDemo
) -> None:
    statistician = demo_trial.actor(Role.STATISTICIAN)
    datasets = derive_datasets(session=session, actor=statistician, trial_id=demo_trial.trial_id)
    pfs = [row for row in datasets.adtte if row.PARAMCD == "PFS"]
    assert len(pfs) == demo_trial.outcome.randomised
    assert sum(1 for row in pfs if row.CNSR == 0) == demo_trial.outcome.pfs_events > 0
    assert all(row.ARM is None for row in datasets.adsl)  # blinded
    unblinded = derive_datasets(
        session=session,
        actor=demo_trial.actor(Role.UNBLINDED_STATISTICIAN),
        trial_id=demo_trial.trial_id,
        unblinded=True,
    )
    assert {row.ARMCD for row in unblinded.adsl} == {"SORAFENIB", "PLACEBO"}  # protocol names


def _sdtm_of_the_demo_breaks_no_sdtmig_rule(session: Session, demo_trial: SeededDemo) -> None:
    """Whatever the demo records (too-small lesions, new lesions, deaths, withdrawals)."""
    for role, unblinded in ((Role.STATISTICIAN, False), (Role.UNBLINDED_STATISTICIAN, True)):
        export = sdtm_export(
            session=session,
            actor=demo_trial.actor(role),
            trial_id=demo_trial.trial_id,
            unblinded=unblinded,
        )
        gaps = {(f.domain, f.variable) for f in export.findings}
        assert gaps == KNOWN_GAPS, [str(f) for f in export.findings]
        dm = next(d for d in export.domains if d.name == "DM")
        assert ("ARMCD" in dm.columns) is unblinded


def _consort_counts_the_criteria_that_decided_each_verdict(
    session: Session, demo_trial: SeededDemo
) -> None:
    """The report's screening failures are the numbered criteria that block each patient's
    latest screening record (never an unmet alternative such as I3.1, nor a sub-item)."""
    assert demo_trial.outcome.cutoff is not None
    inputs = report_inputs(
        session=session,
        actor=demo_trial.actor(Role.STATISTICIAN),
        trial_id=demo_trial.trial_id,
        cutoff=demo_trial.outcome.cutoff,
    )
    flow = consort_flow(inputs.consort)
    protocol = load_protocol("sor")
    deciding: Counter[str] = Counter()
    failed = 0
    for patient in session.scalars(select(Patient).where(Patient.trial_id == demo_trial.trial_id)):
        latest = session.scalars(
            select(ScreeningRecordVersion)
            .where(ScreeningRecordVersion.patient_id == patient.id)
            .order_by(ScreeningRecordVersion.version.desc())
        ).first()
        if latest is None:
            continue
        blocking = screen(protocol, sor_record(latest.data)).eligibility.blocking
        deciding.update(c.id for c in blocking)
        failed += bool(blocking)
    assert failed > 0
    assert flow.not_eligible == failed
    assert flow.not_eligible_by_criterion == dict(sorted(deciding.items()))
    assert not any("." in c for c in flow.not_eligible_by_criterion)


def _no_arm_in_what_blinded_roles_see(session: Session, demo_trial: SeededDemo) -> None:
    investigator = demo_trial.actor(Role.INVESTIGATOR, "IT01")
    seen = []
    for view in patients.list_patients(
        session=session, actor=investigator, site_id=demo_trial.site_ids["IT01"]
    ):
        assert not isinstance(view, UnblindedPatientView)
        seen.append(view.model_dump_json())
        if session.scalar(select(Randomisation.id).where(Randomisation.patient_id == view.id)):
            shown = randomisation.get_randomisation(
                session=session, actor=investigator, patient_id=view.id
            )
            assert not isinstance(shown, UnblindedRandomisationView)
            seen.append(shown.model_dump_json())
    pharmacist = demo_trial.actor(Role.PHARMACIST, "IT01")
    kits = supply.list_site_kits(
        session=session, actor=pharmacist, site_id=demo_trial.site_ids["IT01"]
    )
    assert {k.status for k in kits} >= {"dispensed", "available"}  # resupplied as it ran down
    seen += [k.model_dump_json() for k in kits]
    requests = supply.list_resupply_requests(
        session=session, actor=pharmacist, trial_id=demo_trial.trial_id
    )
    assert requests
    seen += [r.model_dump_json() for r in requests]
    monitor = demo_trial.actor(Role.MONITOR)
    rows = reports.enrolment(session=session, actor=monitor, trial_id=demo_trial.trial_id)
    seen += [r.model_dump_json() for r in rows]
    # the seeding's audit trail (read by blinded administrators) names kits, never arms
    events = session.scalars(select(AuditEvent)).all()
    seen += [json.dumps([e.field, e.new_value, e.reason]) for e in events]
    title = get_trial_or_raise(session, demo_trial.trial_id).title  # names both drugs
    text = "\n".join(seen).replace(title, "").lower().replace("sorafenib/placebo", "")
    found = [text[max(0, i - 80) : i + 20] for w in ARM_WORDS if (i := text.find(w)) >= 0]
    assert not found


def _an_investigator_can_still_screen_and_randomise_on_the_cut_off(
    session: Session, demo_trial: SeededDemo
) -> None:
    cutoff = demo_trial.outcome.cutoff
    assert cutoff is not None
    investigator = demo_trial.actor(Role.INVESTIGATOR, "IT01")
    patient = patients.register_patient(
        session=session,
        actor=investigator,
        site_id=demo_trial.site_ids["IT01"],
        screening_number="IT01-NEW",
    )
    record = screening_record(
        np.random.default_rng(1),
        group="endocrine",
        failure=None,
        screening_date=cutoff - dt.timedelta(days=14),
        randomisation_date=cutoff,
    ).record
    patients.submit_screening_record(
        session=session, actor=investigator, patient_id=patient.id, data=record
    )
    assert patients.evaluate_eligibility(
        session=session, actor=investigator, patient_id=patient.id
    ).eligible
    patients.record_consent(
        session=session,
        actor=investigator,
        patient_id=patient.id,
        consent_date=cutoff - dt.timedelta(days=14),
        information_sheet_version="1.0",
    )
    view = randomisation.randomise(
        session=session, actor=investigator, patient_id=patient.id, on_date=cutoff
    )
    assert view.kit_number is not None
    with pytest.raises(InactiveSiteError, match="not yet activated"):
        patients.register_patient(
            session=session,
            actor=demo_trial.actor(Role.INVESTIGATOR, "DE03"),
            site_id=demo_trial.site_ids["DE03"],
            screening_number="DE03-001",
        )


def _a_second_seeding_changes_nothing(
    session: Session, security: Security, demo_trial: SeededDemo
) -> None:
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    again = seed_demo(
        session=session,
        security=dataclasses.replace(security, demo=True),
        options=DemoOptions(scenario="null", seed=1, patients=5),  # ignored: the trial exists
    )
    assert not again.created
    assert again.cutoff == demo_trial.outcome.cutoff
    assert (again.screened, again.randomised) == (
        demo_trial.outcome.screened,
        demo_trial.outcome.randomised,
    )
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events
    assert session.scalar(select(func.count()).select_from(Patient)) == demo_trial.outcome.screened


def _records_are_stamped_on_the_demo_calendar(session: Session, demo_trial: SeededDemo) -> None:
    """Record stamps follow the demo's days; the audit trail keeps the real time, in order."""
    cutoff = demo_trial.outcome.cutoff
    assert cutoff is not None
    set_up = dt.date(2007, 6, 20)  # the coordinating centre's ethics approval
    for row in session.scalars(select(Randomisation)):
        assert row.randomised_at.date() == row.enrolment_date
    created = [p.created_at.date() for p in session.scalars(select(Patient))]
    assert all(set_up <= day <= cutoff for day in created)
    assert all(
        set_up <= d.dispensed_at.date() <= cutoff for d in session.scalars(select(Dispensing))
    )
    opened = [q.opened_at.date() for q in session.scalars(select(DataQuery))]
    assert opened
    assert all(set_up < day <= cutoff for day in opened)
    tallies = monitoring.query_summary(
        session=session, actor=demo_trial.actor(Role.MONITOR), trial_id=demo_trial.trial_id
    )
    oldest = [t.oldest_open for t in tallies if t.oldest_open is not None]
    assert oldest
    assert all(day <= cutoff for day in oldest)  # the monitor's "oldest open query since"
    times = list(session.scalars(select(AuditEvent.occurred_at).order_by(AuditEvent.seq)))
    assert times == sorted(times)
    assert times[0].date() > cutoff  # the computer's time of writing, not the trial's


def _inboxes_hold_only_the_last_two_weeks_unread(session: Session, demo: SeededDemo) -> None:
    """The replay's resupply requests and SAE arrivals were dealt with at the time: those unread
    are recent, and those read were read a day after they were raised."""
    cutoff = demo.outcome.cutoff
    assert cutoff is not None
    rows = session.execute(
        select(Notification.created_at, Delivery.read_at)
        .join(Delivery, Delivery.notification_id == Notification.id)
        .where(
            Notification.trial_id == demo.trial_id,
            Notification.kind.in_(SETTLED_KINDS),
            Delivery.channel == "inbox",
        )
    ).all()
    assert rows
    start = dt.datetime.combine(cutoff - dt.timedelta(days=INBOX_DAYS), dt.time(), dt.UTC)
    unread = [raised for raised, read in rows if read is None]
    read = [(raised, read_at) for raised, read_at in rows if read_at is not None]
    assert all(raised >= start for raised in unread)
    assert read, "a two-year replay raises notifications before the last two weeks"
    assert all(read_at == raised + dt.timedelta(days=1) for raised, read_at in read)


def test_the_seeded_demo_trial(
    session: Session, security: Security, demo_trial: SeededDemo
) -> None:
    """One seeding per database (seeding takes seconds): every property of the seeded trial."""
    _in_progress_with_an_intact_audit_trail(session, demo_trial)
    _records_are_stamped_on_the_demo_calendar(session, demo_trial)
    _pfs_events_derived_from_the_records_are_the_generators(session, demo_trial)
    _consort_counts_the_criteria_that_decided_each_verdict(session, demo_trial)
    _sdtm_of_the_demo_breaks_no_sdtmig_rule(session, demo_trial)
    _no_arm_in_what_blinded_roles_see(session, demo_trial)
    _inboxes_hold_only_the_last_two_weeks_unread(session, demo_trial)
    _a_second_seeding_changes_nothing(session, security, demo_trial)
    _an_investigator_can_still_screen_and_randomise_on_the_cut_off(session, demo_trial)
