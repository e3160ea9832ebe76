"""The two read use cases the investigator's and pharmacist's pages added to the service:
one patient's derived PFS, and the site's dispensings. Both are site-scoped and name no arm."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.errors import NotFoundError, PermissionDenied, RecordError
from trialkit.service.capture.capture import list_records, record_form
from trialkit.service.capture.patient_pfs import PfsView, patient_pfs
from trialkit.service.capture.recist_preview import preview_tumour_response
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import DispensingView, SiteView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.dispensings import list_site_dispensings


@dataclass(frozen=True)
class World:
    site_id: int
    treated: int
    waiting: int
    investigator: Principal
    elsewhere: Principal
    pharmacist: Principal
    other_pharmacist: Principal


@pytest.fixture
def world(session: Session, security: Security) -> World:
    trial = make_trial(session)
    site, other = make_site(session, trial, country="IT"), make_site(session, trial)
    seal_trial(session, trial)
    stock_site(session, trial, site)

    def who(role: Role, at: SiteView) -> Principal:
        return principal(session, security, make_user(session, security, trial, role, site=at))

    investigator = who(Role.INVESTIGATOR, site)
    treated = make_eligible_patient(session, investigator, site)
    waiting = make_eligible_patient(session, investigator, site)
    randomisation.randomise(
        session=session, actor=investigator, patient_id=treated.id, on_date=ENROLMENT_DAY
    )
    return World(
        site_id=site.id,
        treated=treated.id,
        waiting=waiting.id,
        investigator=investigator,
        elsewhere=who(Role.INVESTIGATOR, other),
        pharmacist=who(Role.PHARMACIST, site),
        other_pharmacist=who(Role.PHARMACIST, other),
    )


def test_pfs_is_censored_then_an_event_at_the_first_progression(
    session: Session, world: World
) -> None:
    actor, patient_id = world.investigator, world.treated
    pfs = patient_pfs(session=session, actor=actor, patient_id=patient_id)
    assert pfs is not None
    assert not pfs.event  # no baseline yet: censored at randomisation
    assert pfs.date == ENROLMENT_DAY
    record_form(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=Form.TUMOUR_BASELINE,
        data={"date": "2008-02-25", "target": [{"id": "T1", "organ": "liver", "diameter_mm": 30}]},
    )
    record_form(
        session=session,
        actor=actor,
        patient_id=patient_id,
        form=Form.TUMOUR_ASSESSMENT,
        data={"date": "2008-04-28", "target": {"T1": 40}, "new_lesions": False},
    )
    pfs = patient_pfs(session=session, actor=actor, patient_id=patient_id)
    assert pfs is not None
    assert pfs.event  # 30 -> 40 mm: +33% and +10 mm over the nadir, RECIST 1.1 progression
    assert pfs.date.isoformat() == "2008-04-28"
    assert pfs.days == 57  # ADaM AVAL = ADT - STARTDT + 1: 2008-03-03 to 2008-04-28 is 56 days
    assert pfs.description == "Disease progression"
    assert "arm" not in PfsView.model_fields


def test_pfs_is_none_before_randomisation_and_absent_for_another_site(
    session: Session, world: World
) -> None:
    assert patient_pfs(session=session, actor=world.investigator, patient_id=world.waiting) is None
    with pytest.raises(NotFoundError):
        patient_pfs(session=session, actor=world.elsewhere, patient_id=world.treated)


def test_dispensings_are_listed_for_the_site_s_pharmacist_only(
    session: Session, world: World
) -> None:
    listed = list_site_dispensings(session=session, actor=world.pharmacist, site_id=world.site_id)
    assert [(d.patient_id, d.cycle) for d in listed] == [(world.treated, 1)]
    assert "arm" not in DispensingView.model_fields
    with pytest.raises(NotFoundError):
        list_site_dispensings(session=session, actor=world.other_pharmacist, site_id=world.site_id)
    with pytest.raises(PermissionDenied):
        list_site_dispensings(session=session, actor=world.investigator, site_id=world.site_id)


def test_the_response_is_previewed_without_storing_anything(session: Session, world: World) -> None:
    actor, patient_id = world.investigator, world.treated
    baseline = {"date": "2008-02-25", "target": [{"id": "T1", "organ": "liver", "diameter_mm": 30}]}
    before = preview_tumour_response(
        session=session, actor=actor, patient_id=patient_id, form=Form.TUMOUR_BASELINE,
        data=baseline,
    )  # fmt: skip
    assert before is not None
    assert before["timepoints"] == []
    assert before["baseline"]["sum_mm"] == 30
    record_form(
        session=session, actor=actor, patient_id=patient_id, form=Form.TUMOUR_BASELINE,
        data=baseline,
    )  # fmt: skip
    shrunk = preview_tumour_response(
        session=session, actor=actor, patient_id=patient_id, form=Form.TUMOUR_ASSESSMENT,
        data={"date": "2008-04-28", "target": {"T1": 15}, "new_lesions": False},
    )  # fmt: skip
    assert shrunk is not None
    # 30 -> 15 mm: -50%, at least the 30% decrease of a partial response (RECIST 1.1)
    assert [t["overall_response"] for t in shrunk["timepoints"]] == ["PR"]
    assert [r.form for r in list_records(session=session, actor=actor, patient_id=patient_id)] == [
        "tumour_baseline"
    ]
    with pytest.raises(RecordError):
        preview_tumour_response(
            session=session, actor=actor, patient_id=patient_id, form=Form.TUMOUR_ASSESSMENT,
            data={"date": "not a date"},
        )  # fmt: skip
    with pytest.raises(NotFoundError):
        preview_tumour_response(
            session=session, actor=world.elsewhere, patient_id=patient_id,
            form=Form.TUMOUR_ASSESSMENT, data={},
        )  # fmt: skip
