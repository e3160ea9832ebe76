"""Clinical data capture: versions with reasons, RECIST on save, edit checks open queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.conftest import RANDOMISED_ON, example
from tests.factories import (
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.errors import ConflictError, InputError, NotFoundError, PermissionDenied, RecordError
from trialkit.service.capture import capture, edit_checks, queries, visits
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.listing import Listing
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import PatientView, SiteView
from trialkit.service.screening import patients


@dataclass(frozen=True)
class Clinic:
    investigator: Principal
    elsewhere: Principal  # an investigator at another site
    monitor: Principal
    patient: PatientView
    site: SiteView


@pytest.fixture
def clinic(session: Session, security: Security) -> Clinic:
    trial = make_trial(session)
    site, other = make_site(session, trial), make_site(session, trial)
    seal_trial(session, trial)
    stock_site(session, trial, site)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    elsewhere = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=other)
    )
    monitor = principal(session, security, make_user(session, security, trial, Role.MONITOR))
    patient = randomise_patient(session, investigator, site, RANDOMISED_ON)
    return Clinic(investigator, elsewhere, monitor, patient, site)


def _record(session: Session, c: Clinic, form: Form, data: dict[str, Any], **kw: Any) -> Any:
    return capture.record_form(
        session=session, actor=c.investigator, patient_id=c.patient.id, form=form, data=data, **kw
    )


AE = {
    "term": "Hand-foot skin reaction",
    "grade": 2,
    "start_date": "2008-04-02",
    "serious": False,
    "relationship": "probable",
    "action_taken": "dose_reduced",
}


def test_a_complete_record_opens_no_query_and_corrections_are_versions(
    session: Session, clinic: Clinic
) -> None:
    first = _record(session, clinic, Form.ADVERSE_EVENT, AE)
    assert (first.record_key, first.version, first.queries_opened) == ("AE-1", 1, [])
    assert _record(session, clinic, Form.ADVERSE_EVENT, AE).record_key == "AE-2"
    with pytest.raises(InputError, match="say why"):
        _record(session, clinic, Form.ADVERSE_EVENT, AE | {"grade": 3}, record_key="AE-1")
    second = _record(
        session, clinic, Form.ADVERSE_EVENT, AE | {"grade": 3}, record_key="AE-1", reason="typo"
    )
    assert (second.version, second.reason, second.data["grade"]) == (2, "typo", 3)
    with pytest.raises(InputError, match="holds these values already"):  # nothing to change
        _record(
            session, clinic, Form.ADVERSE_EVENT, AE | {"grade": 3}, record_key="AE-1", reason="x"
        )
    versions = capture.list_records(
        session=session, actor=clinic.monitor, patient_id=clinic.patient.id, form=Form.ADVERSE_EVENT
    )
    assert [(v.record_key, v.version) for v in versions] == [("AE-1", 1), ("AE-1", 2), ("AE-2", 1)]
    with pytest.raises(NotFoundError, match="AE-9"):
        _record(session, clinic, Form.ADVERSE_EVENT, AE, record_key="AE-9", reason="x")


def test_wrong_types_are_refused_with_the_field_path(session: Session, clinic: Clinic) -> None:
    with pytest.raises(RecordError) as caught:
        _record(session, clinic, Form.ADVERSE_EVENT, AE | {"grade": 6})
    assert caught.value.location == "data.grade"


def test_scope_role_and_randomisation(session: Session, clinic: Clinic) -> None:
    with pytest.raises(NotFoundError):
        capture.record_form(
            session=session,
            actor=clinic.elsewhere,
            patient_id=clinic.patient.id,
            form=Form.DEATH,
            data={},
        )
    with pytest.raises(PermissionDenied):
        capture.record_form(
            session=session,
            actor=clinic.monitor,
            patient_id=clinic.patient.id,
            form=Form.DEATH,
            data={},
        )
    screened = make_patient(session, clinic.investigator, clinic.site)
    with pytest.raises(ConflictError, match="not randomised"):
        capture.record_form(
            session=session,
            actor=clinic.investigator,
            patient_id=screened.id,
            form=Form.ADVERSE_EVENT,
            data=AE,
        )


def test_edit_checks_open_queries_on_the_field(session: Session, clinic: Clinic) -> None:
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    saved = _record(
        session,
        clinic,
        Form.ADVERSE_EVENT,
        {"term": "Diarrhoea", "start_date": "2008-02-01", "end_date": future},
    )
    got = {(q.field, q.code) for q in saved.queries_opened}
    assert got == {
        ("grade", "missing_required"),
        ("serious", "missing_required"),
        ("relationship", "missing_required"),
        ("action_taken", "missing_required"),
        ("start_date", "before_randomisation"),
        ("end_date", "date_in_future"),
    }
    # on demand: the same failures, no second query on the same field and code
    report = edit_checks.run_edit_checks(
        session=session, actor=clinic.monitor, patient_id=clinic.patient.id
    )
    assert len(report.findings) == 6
    assert report.queries_opened == []


STUDY_DRUG = {"start_date": "2008-03-20", "kits_dispensed": ["K-0001"]}
END_BEFORE_START = [
    pytest.param(
        Form.ADVERSE_EVENT,
        AE | {"grade": 3, "serious": True, "end_date": "2008-04-01"},
        "data.end_date",
        id="adverse-event",
    ),
    pytest.param(
        Form.STUDY_DRUG, STUDY_DRUG | {"end_date": "2008-03-19"}, "data.end_date", id="study-drug"
    ),
    pytest.param(
        Form.STUDY_DRUG,
        STUDY_DRUG | {"interruptions": [{"start_date": "2008-04-10", "end_date": "2008-04-09"}]},
        "data.interruptions[0].end_date",
        id="dose-interruption",
    ),
]


@pytest.mark.parametrize(("form", "data", "location"), END_BEFORE_START)
def test_end_before_start_is_refused_with_the_field_path(
    session: Session, clinic: Clinic, form: Form, data: dict[str, Any], location: str
) -> None:
    """A hard inconsistency is refused on save, on every form, nothing stored or queried."""
    with pytest.raises(RecordError) as caught:
        _record(session, clinic, form, data)
    assert caught.value.location == location
    assert "is before" in caught.value.message
    assert "correct the date that is wrong" in caught.value.message
    assert not capture.list_records(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id, form=form
    )
    listed = queries.list_patient_queries(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert listed == []


def test_end_before_start_correction_is_refused_and_the_version_kept(
    session: Session, clinic: Clinic
) -> None:
    _record(session, clinic, Form.ADVERSE_EVENT, AE)
    with pytest.raises(RecordError) as caught:
        _record(
            session,
            clinic,
            Form.ADVERSE_EVENT,
            AE | {"end_date": "2008-04-01"},
            record_key="AE-1",
            reason="resolved",
        )
    assert caught.value.location == "data.end_date"
    versions = capture.list_records(
        session=session, actor=clinic.investigator, patient_id=clinic.patient.id
    )
    assert [(v.record_key, v.version) for v in versions] == [("AE-1", 1)]


def test_end_on_the_start_day_is_accepted(session: Session, clinic: Clinic) -> None:
    saved = _record(session, clinic, Form.ADVERSE_EVENT, AE | {"end_date": AE["start_date"]})
    assert saved.queries_opened == []


def test_a_stored_end_before_start_still_opens_a_query(session: Session, clinic: Clinic) -> None:
    """A record stored before saving refused it is found by the same rule, as a query."""
    session.add(
        CaptureRecord(
            patient_id=clinic.patient.id,
            form=Form.ADVERSE_EVENT.value,
            form_version="1",
            record_key="AE-1",
            version=1,
            data=AE | {"end_date": "2008-04-01"},
            result=None,
            reason=None,
            recorded_at=utcnow(),
            recorded_by=None,
        )
    )
    session.flush()
    report = edit_checks.run_edit_checks(
        session=session, actor=clinic.monitor, patient_id=clinic.patient.id
    )
    assert {(f.field, f.code) for f in report.findings} == {("end_date", "end_before_start")}


def test_death_before_a_later_record(session: Session, clinic: Clinic) -> None:
    _record(session, clinic, Form.ADVERSE_EVENT, AE | {"start_date": "2008-09-01"})
    saved = _record(session, clinic, Form.DEATH, {"date": "2008-08-01", "cause": "progression"})
    (query,) = saved.queries_opened
    assert (query.form, query.field, query.code) == ("death", "date", "death_before_later_record")
    assert "adverse_event AE-1 start_date 2008-09-01" in query.message


def test_tumour_forms_are_evaluated_on_save_and_recist_findings_become_queries(
    session: Session, clinic: Clinic
) -> None:
    baseline = {
        "date": "2008-02-20",
        "target": [
            {"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 40},
            {"id": "T2", "organ": "liver", "lymph_node": False, "diameter_mm": 8},
        ],
        "non_target": [{"id": "NT1", "organ": "bone"}],
    }
    saved = _record(session, clinic, Form.TUMOUR_BASELINE, baseline)
    assert saved.result is not None
    assert saved.result["timepoints"] == []
    assert {(q.field, q.code) for q in saved.queries_opened} == {
        ("target[1].diameter_mm", "lesion_not_measurable")
    }
    scan = {"date": "2008-04-28", "target": {"T1": 26, "T2": 5}, "new_lesions": False}
    saved = _record(session, clinic, Form.TUMOUR_ASSESSMENT, scan)
    assert saved.result is not None
    (point,) = saved.result["timepoints"]
    assert (point["sum_mm"], point["target_response"], point["overall_response"]) == (
        31,
        "PR",
        "PR",  # PR with a non-target not evaluated is PR (table 1)
    )
    # NT1 was not assessed: the engine's finding is a query on that assessment's field
    assert {(q.record_key, q.field, q.code) for q in saved.queries_opened} == {
        ("TA-1", "non_target.NT1", "missing_non_target")
    }
    response = capture.tumour_response(
        session=session, actor=clinic.monitor, patient_id=clinic.patient.id
    )
    assert response.evaluation is not None
    assert response.evaluation["best_overall_response"] == "PR"


def test_query_life_cycle_and_work_lists(session: Session, clinic: Clinic) -> None:
    saved = _record(session, clinic, Form.DEATH, {"date": "2008-08-01"})
    (query,) = saved.queries_opened
    assert query.status == "open"
    site_list = queries.list_site_queries(
        session=session, actor=clinic.investigator, site_id=query.site_id
    )
    monitor_list = queries.list_trial_queries(
        session=session,
        actor=clinic.monitor,
        trial_id=clinic.patient.trial_id,
        status="open",
    )
    assert [q.id for q in site_list] == [q.id for q in monitor_list] == [query.id]
    with pytest.raises(PermissionDenied):
        queries.close_query(
            session=session, actor=clinic.investigator, query_id=query.id, resolution="x"
        )
    answered = queries.answer_query(
        session=session, actor=clinic.investigator, query_id=query.id, response="Cause unknown"
    )
    assert answered.status == "answered"
    closed = queries.close_query(
        session=session, actor=clinic.monitor, query_id=query.id, resolution="Accepted"
    )
    assert closed.status == "closed"
    with pytest.raises(ConflictError):
        queries.answer_query(
            session=session, actor=clinic.investigator, query_id=query.id, response="again"
        )
    with pytest.raises(NotFoundError):
        queries.list_site_queries(session=session, actor=clinic.elsewhere, site_id=query.site_id)


def test_schedule_flags_done_out_of_window_and_overdue(session: Session, clinic: Clinic) -> None:
    # tumour assessments every 56 days (+-7) from 2008-03-03: day 56 = 2008-04-28
    for when in ("2008-04-28", "2008-07-07"):  # on time; then day 126 (target 112: late)
        _record(session, clinic, Form.TUMOUR_ASSESSMENT, {"date": when, "new_lesions": False})
    view = visits.patient_visits(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2008, 9, 1),
    )
    tumour = [v for v in view.visits if v.kind == "tumour_assessments"]
    assert [(v.target.isoformat(), v.status) for v in tumour[:3]] == [
        ("2008-04-28", "done"),
        ("2008-06-23", "out_of_window"),
        ("2008-08-18", "overdue"),
    ]
    assert view.overdue >= 1
    assert view.out_of_window == 1


def test_edit_checks_use_the_callers_calendar_date(session: Session, clinic: Clinic) -> None:
    # the trial's calendar date is pinned to 2008-04-10 (TRIALKIT_CALENDAR_DATE, a demo):
    # 2008-04-20 is in the future for the trial although long past for the real clock
    saved = _record(
        session,
        clinic,
        Form.ADVERSE_EVENT,
        AE | {"start_date": "2008-03-10", "end_date": "2008-04-20"},
        today=dt.date(2008, 4, 10),
    )
    (query,) = saved.queries_opened
    assert (query.field, query.code) == ("end_date", "date_in_future")
    assert "today is 2008-04-10" in query.message
    # on demand a month later the date is no longer in the future
    report = edit_checks.run_edit_checks(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2008, 5, 10),
    )
    assert report.findings == []
    assert report.queries_opened == []


def _progressed_on_2008_04_28(session: Session, c: Clinic) -> None:
    baseline = {
        "date": "2008-02-20",
        "target": [{"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 40}],
        "non_target": [],
    }
    _record(session, c, Form.TUMOUR_BASELINE, baseline)
    scan = {"date": "2008-04-28", "target": {"T1": 41}, "new_lesions": True}
    _record(session, c, Form.TUMOUR_ASSESSMENT, scan)


def test_every_survival_follow_up_contact_counts(session: Session, clinic: Clinic) -> None:
    _progressed_on_2008_04_28(session, clinic)
    # contacts every 91 days after progression (+-14): the form is moved forward as new
    # versions, one per contact
    for version, when in enumerate(("2008-07-28", "2008-10-30", "2009-01-26")):
        _record(
            session,
            clinic,
            Form.LAST_KNOWN_ALIVE,
            {"date": when},
            reason=None if version == 0 else "survival follow-up contact",
        )
    # a mistyped date corrected back replaces the contact it corrects, adds none
    _record(session, clinic, Form.LAST_KNOWN_ALIVE, {"date": "2009-01-20"}, reason="typo")
    view = visits.patient_visits(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2009, 3, 1),
    )
    follow = [v for v in view.visits if v.kind == "survival_follow_up"]
    assert [(v.target.isoformat(), v.status, v.actual) for v in follow] == [
        ("2008-07-28", "done", dt.date(2008, 7, 28)),
        ("2008-10-27", "done", dt.date(2008, 10, 30)),
        ("2009-01-26", "done", dt.date(2009, 1, 20)),
        ("2009-04-27", "upcoming", None),
    ]
    assert view.overdue == 0
    assert view.unscheduled == []
    # lost to follow-up after the third contact: nothing is expected after the end of study
    left = {"date": "2009-02-10", "reason": "lost_to_follow_up"}
    _record(session, clinic, Form.END_OF_STUDY, left)
    later = visits.patient_visits(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2009, 9, 1),
    )
    assert [v.status for v in later.visits if v.kind == "survival_follow_up"] == ["done"] * 3
    assert later.overdue == 0


def test_a_delayed_cycle_puts_only_itself_out_of_window(session: Session, clinic: Clinic) -> None:
    chemo = randomise_patient(
        session,
        clinic.investigator,
        clinic.site,
        RANDOMISED_ON,
        record=example("02_chemo_then_endocrine_liver_alt_4x"),
    )
    clinic = dataclasses.replace(clinic, patient=chemo)
    # randomised 2008-03-03; cycle 2 planned 2008-03-24, given a week late; the later cycles
    # every 21 days from it
    for cycle, when in enumerate(("2008-03-03", "2008-03-31", "2008-04-21", "2008-05-12"), 1):
        _record(session, clinic, Form.DOCETAXEL_CYCLE, {"cycle": cycle, "date": when})
    view = visits.patient_visits(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2008, 5, 20),
    )
    cycles = [v for v in view.visits if v.kind == "treatment" and "cycle" in v.label]
    assert [(v.target.isoformat(), v.status) for v in cycles[:5]] == [
        ("2008-03-03", "done"),
        ("2008-03-24", "out_of_window"),
        ("2008-04-21", "done"),
        ("2008-05-12", "done"),
        ("2008-06-02", "upcoming"),
    ]
    assert view.out_of_window == 1
    # the tumour assessments stay on their schedule from randomisation (day 56): the first,
    # not recorded, is the only visit overdue
    (overdue,) = [v for v in view.visits if v.status == "overdue"]
    assert (overdue.label, overdue.target) == ("tumour assessment 1", dt.date(2008, 4, 28))
    # treatment stopped for toxicity after cycle 4: cycles 5 and 6 and the switch to
    # letrozole are no longer expected
    stopped = {"date": "2008-05-20", "reason": "adverse_event"}
    _record(session, clinic, Form.END_OF_TREATMENT, stopped)
    ended = visits.patient_visits(
        session=session,
        actor=clinic.monitor,
        patient_id=clinic.patient.id,
        today=dt.date(2008, 9, 1),
    )
    treatment = [v for v in ended.visits if v.kind == "treatment"]
    assert [v.label.split(":")[0] for v in treatment] == [
        f"docetaxel cycle {k} day 1" for k in (1, 2, 3, 4)
    ]
    assert {v.status for v in ended.visits if v.kind == "treatment"} <= {"done", "out_of_window"}


def test_the_visit_plan_follows_the_therapy_recorded_at_randomisation_not_a_later_correction(
    session: Session, clinic: Clinic
) -> None:
    """The patient was randomised in the chemotherapy stratum; a screening record corrected
    afterwards (to data that would now assign letrozole alone) changes neither her stratum nor
    the treatment she receives, so her expected docetaxel cycles stay."""
    chemo = randomise_patient(
        session,
        clinic.investigator,
        clinic.site,
        RANDOMISED_ON,
        record=example("02_chemo_then_endocrine_liver_alt_4x"),
    )

    def cycles() -> list[str]:
        view = visits.patient_visits(
            session=session,
            actor=clinic.monitor,
            patient_id=chemo.id,
            today=dt.date(2008, 5, 20),
        )
        return [v.label for v in view.visits if v.kind == "treatment"]

    planned = cycles()
    assert any(label.startswith("docetaxel cycle") for label in planned)
    patients.submit_screening_record(
        session=session,
        actor=clinic.investigator,
        patient_id=chemo.id,
        data=example("01_endocrine_bone_only"),
        reason="transcription error corrected after randomisation",
    )
    assert cycles() == planned


def test_queries_are_searched_counted_and_reopened(session: Session, clinic: Clinic) -> None:
    """The query list's service (both databases): search, counts by site and form, re-open."""
    saved = _record(session, clinic, Form.DEATH, {"date": "2008-08-01"})
    (query,) = saved.queries_opened
    trial_id = clinic.patient.trial_id
    listing = Listing.from_params({}, sorts=tuple(queries.QUERY_SORTS), default_sort="-id")
    found = queries.search_queries(
        session=session, actor=clinic.monitor, trial_id=trial_id, listing=listing, form="death"
    )
    assert [q.id for q in found.items] == [query.id]
    assert found.total == 1
    nothing = queries.search_queries(
        session=session, actor=clinic.monitor, trial_id=trial_id, listing=listing, text="zzz%"
    )
    assert nothing.total == 0
    today = dt.date(2008, 8, 1) + dt.timedelta(days=45)
    counts = queries.query_counts(
        session=session, actor=clinic.monitor, trial_id=trial_id, today=today
    )
    by_form = {c.key: c for c in counts if c.by == "form"}
    assert by_form["death"].open == 1
    assert {c.key for c in counts if c.by == "site"} == {str(clinic.site.id)}
    with pytest.raises(ConflictError):
        queries.reopen_query(session=session, actor=clinic.monitor, query_id=query.id, comment="x")
    queries.answer_query(
        session=session, actor=clinic.investigator, query_id=query.id, response="Checked"
    )
    with pytest.raises(PermissionDenied):
        queries.reopen_query(
            session=session, actor=clinic.investigator, query_id=query.id, comment="x"
        )
    reopened = queries.reopen_query(
        session=session, actor=clinic.monitor, query_id=query.id, comment="Source differs"
    )
    assert reopened.status == "open"
    assert reopened.resolution == "Source differs"
    with pytest.raises(NotFoundError):
        queries.raise_query(
            session=session,
            actor=clinic.monitor,
            patient_id=clinic.patient.id,
            form=Form.ADVERSE_EVENT,
            record_key="AE-404",
            field="grade",
            message="no such record",
        )
