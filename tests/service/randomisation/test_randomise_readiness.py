"""One list of the preconditions of randomisation: ``readiness`` is what ``randomise`` refuses
by, so a patient the service would refuse is never reported ready (each test names its rule)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    SYSTEM,
    make_eligible_patient,
    make_site,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.randomisation_cases import CASES, Case
from trialkit.errors import ConflictError, RandomisationError, SupplyShortError
from trialkit.protocol import load_protocol
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.platform.views import SiteView, TrialView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.randomisation import Precondition, Readiness
from trialkit.service.randomisation.tables.supply import InventoryKit, ResupplyRequest
from trialkit.service.trials import trials

ARM_WORDS = re.compile(
    r"\barms?\b|" + "|".join(arm.label for arm in load_protocol("sor").arms), re.IGNORECASE
)


@dataclass(frozen=True)
class World:
    trial: TrialView
    site: SiteView
    investigator: Principal


@pytest.fixture
def world(session: Session, security: Security) -> World:
    trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name="sor")
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    return World(trial, site, principal(session, security, user))


def _readiness(session: Session, w: World, patient_id: int) -> Readiness:
    return randomisation.readiness(
        session=session, actor=w.investigator, patient_id=patient_id, on_date=ENROLMENT_DAY
    )


def test_a_ready_patient_passes_every_check_in_order_and_is_randomised(
    session: Session, world: World
) -> None:
    patient = make_eligible_patient(session, world.investigator, world.site)
    ready = _readiness(session, world, patient.id)
    assert ready.ready, ready.summary()
    assert [c.name for c in ready.checks] == list(Precondition)
    assert [c for c in ready.checks if ARM_WORDS.search(c.reason)] == []
    shown = randomisation.randomise(
        session=session, actor=world.investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
    )
    assert shown.randomisation_number > 0


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_patient_the_service_refuses_is_never_shown_ready(
    session: Session, world: World, case: Case
) -> None:
    patient = case.build(session, world.investigator, world.trial, world.site)
    shown = _readiness(session, world, patient)
    assert not shown.ready
    first = shown.failing[0]
    assert first.name == case.fails, shown.summary()
    assert [c.name for c in shown.checks] == list(Precondition)  # every check, always
    assert [c for c in shown.checks if ARM_WORDS.search(c.reason)] == []
    with pytest.raises((ConflictError, RandomisationError)) as refused:
        randomisation.randomise(
            session=session, actor=world.investigator, patient_id=patient, on_date=ENROLMENT_DAY
        )
    assert refused.value.message == first.reason  # the refusal is the first failing check


def test_readiness_only_reads_while_randomise_raises_the_resupply_request(
    session: Session, world: World
) -> None:
    """The page's checks raise no resupply request (a page view writes nothing); the
    refusal of randomise still raises it and keeps it (SupplyShortError)."""
    patient = make_eligible_patient(session, world.investigator, world.site)
    session.execute(  # every kit at the site gone: short of both arms, and below the threshold
        update(InventoryKit)
        .where(InventoryKit.site_id == world.site.id, InventoryKit.status == "available")
        .values(status="damaged")
    )

    def written() -> tuple[int, int]:
        requests = session.scalar(select(func.count()).select_from(ResupplyRequest))
        events = session.scalar(select(func.count()).select_from(AuditEvent))
        return int(requests or 0), int(events or 0)

    before = written()
    shown = _readiness(session, world, patient.id)
    assert [c.name for c in shown.failing] == [Precondition.KIT_STOCK]
    assert written() == before
    with pytest.raises(SupplyShortError) as refused:
        randomisation.randomise(
            session=session, actor=world.investigator, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
    assert refused.value.message == shown.failing[0].reason
    assert written()[0] == before[0] + 1


BUNDLED = Path(load_protocol.__code__.co_filename).parent / "protocols" / "sor.yaml"


def test_a_trial_at_its_enrolment_cap_is_not_ready(
    session: Session, security: Security, tmp_path: Path
) -> None:
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data.pop("design")
    data["enrolment"] = {"target": 1, "cap": 1, "text": "a trial of one patient"}
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(path))
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    randomise_patient(session, actor, site, ENROLMENT_DAY)
    second = make_eligible_patient(session, actor, site)
    shown = randomisation.readiness(
        session=session, actor=actor, patient_id=second.id, on_date=ENROLMENT_DAY
    )
    assert [c.name for c in shown.failing] == [Precondition.ENROLMENT_OPEN]
    assert "cap of 1" in shown.failing[0].reason
    with pytest.raises(ConflictError) as refused:
        randomisation.randomise(
            session=session, actor=actor, patient_id=second.id, on_date=ENROLMENT_DAY
        )
    assert refused.value.message == shown.failing[0].reason
