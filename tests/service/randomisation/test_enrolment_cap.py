"""Over-enrolment is a protocol decision: randomisation warns past the target, refuses at the
cap with the reason, and every reader gets the one enrolment state (each test names its rule)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.conftest import create_postgres_database, drop_postgres_database, test_settings
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
from trialkit.errors import ConflictError, ProtocolError
from trialkit.protocol import load_protocol
from trialkit.protocol.loader import parse_protocol
from trialkit.service.platform.db.database import create_database
from trialkit.service.platform.db.migrate import upgrade
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.transaction import transaction
from trialkit.service.platform.views import TrialView
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.trials import trials

BUNDLED = Path(load_protocol.__code__.co_filename).parent / "protocols" / "sor.yaml"


def _small_protocol(tmp_path: Path) -> str:
    """SOR with a target of 2 and a cap of 3 (no design section: its 220 patients go too)."""
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data.pop("design")
    data["enrolment"] = {"target": 2, "cap": 3, "text": "a small trial for the test"}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def small_trial(session: Session, tmp_path: Path) -> TrialView:
    return trials.create_trial(
        session=session, actor=SYSTEM, protocol_name=_small_protocol(tmp_path)
    )


def test_sor_documents_its_enrolment_target_and_cap() -> None:
    sor = load_protocol("sor")
    assert sor.enrolment is not None
    assert sor.design is not None
    assert (sor.enrolment.target, sor.enrolment.cap) == (sor.design.patients, 242)
    assert "confirmed by the sponsor" in sor.enrolment.text


def test_a_cap_below_the_target_or_a_second_target_is_refused() -> None:
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data["enrolment"] = {"target": 220, "cap": 200, "text": "x"}
    with pytest.raises(ProtocolError, match="cap"):
        parse_protocol(yaml.safe_dump(data))
    data["enrolment"] = {"target": 230, "cap": 250, "text": "x"}
    with pytest.raises(ProtocolError, match=r"design\.patients"):
        parse_protocol(yaml.safe_dump(data))


def test_randomisation_warns_past_the_target_and_is_refused_at_the_cap(
    session: Session, security: Security, small_trial: TrialView
) -> None:
    site = make_site(session, small_trial, country="DE")
    seal_trial(session, small_trial)
    stock_site(session, small_trial, site)
    actor = principal(
        session, security, make_user(session, security, small_trial, Role.INVESTIGATOR, site=site)
    )
    row = trials.get_trial_or_raise(session, small_trial.id)

    def state() -> str:
        return trials.enrolment_state(session, row, ENROLMENT_DAY).status

    warnings = []
    for _ in range(3):
        assert state() in ("open", "target_reached")
        patient = make_eligible_patient(session, actor, site)
        shown = randomisation.randomise(
            session=session, actor=actor, patient_id=patient.id, on_date=ENROLMENT_DAY
        )
        warnings.append(shown.warning)
    assert warnings[:2] == [None, None]
    assert warnings[2] is not None
    assert "reached its target of 2" in warnings[2]
    assert state() == "closed_at_cap"
    late = make_eligible_patient(session, actor, site)
    with pytest.raises(ConflictError, match="cap of 3"):
        randomisation.randomise(
            session=session, actor=actor, patient_id=late.id, on_date=ENROLMENT_DAY
        )
    # the API's trial view carries the same state
    view = trials.get_trial(
        session=session, actor=actor, trial_id=small_trial.id, today=ENROLMENT_DAY
    )
    assert (view.enrolment.status, view.enrolment.randomised, view.enrolment_open_today) == (
        "closed_at_cap",
        3,
        False,
    )


def test_the_enrolment_state_is_open_below_the_target_and_closed_outside_the_period(
    session: Session, security: Security
) -> None:
    trial = trials.create_trial(session=session, actor=SYSTEM, protocol_name="sor")
    site = make_site(session, trial, country="DE")
    seal_trial(session, trial)
    stock_site(session, trial, site)
    actor = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    randomise_patient(session, actor, site, ENROLMENT_DAY)
    row = trials.get_trial_or_raise(session, trial.id)
    shown = trials.enrolment_state(session, row, ENROLMENT_DAY)
    assert (shown.status, shown.randomised, shown.target, shown.cap) == ("open", 1, 220, 242)
    closed = trials.enrolment_state(session, row, row.final_enrolment.replace(year=2011))
    assert (closed.status, closed.may_randomise) == ("closed", False)


def test_two_randomisations_at_once_cannot_both_take_the_last_place_under_the_cap(
    tmp_path: Path,
) -> None:
    """PostgreSQL, two transactions: two patients of different strata (sites in Germany and
    Poland) are randomised at once when one place is left under the cap. The second waits for
    the first's commit (the trial's enrolment lock), then counts the first's randomisation and
    is refused: without that lock it would count before the first commits and go over the cap."""
    url = create_postgres_database("trialkit_cap")
    security = Security.from_settings(test_settings(url))
    database = create_database(url, pool_size=3)
    try:
        upgrade(database.engine)
        with transaction(database) as session:
            trial = trials.create_trial(
                session=session, actor=SYSTEM, protocol_name=_small_protocol(tmp_path)
            )
            seal_trial(session, trial)
            actors: list[Principal] = []
            sites, waiting = [], []
            for country in ("DE", "PL"):
                site = make_site(session, trial, country=country)
                sites.append(site)
                stock_site(session, trial, site)
                user = make_user(session, security, trial, Role.INVESTIGATOR, site=site)
                actors.append(principal(session, security, user))
                waiting.append(make_eligible_patient(session, actors[-1], site).id)
            for _ in range(2):  # the target: one place left under the cap of 3
                randomise_patient(session, actors[0], sites[0], ENROLMENT_DAY)

        def randomise(index: int) -> object:
            with transaction(database) as own:
                return randomisation.randomise(
                    session=own,
                    actor=actors[index],
                    patient_id=waiting[index],
                    on_date=ENROLMENT_DAY,
                )

        with ThreadPoolExecutor(max_workers=1) as pool, transaction(database) as first:
            randomisation.randomise(
                session=first, actor=actors[0], patient_id=waiting[0], on_date=ENROLMENT_DAY
            )
            second = pool.submit(randomise, 1)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:  # until the second waits for a lock
                with database.engine.connect() as probe:
                    if probe.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                        break
                time.sleep(0.02)
            else:
                pytest.fail("the second randomisation never waited for the first")
        with pytest.raises(ConflictError, match="cap of 3"):
            second.result(timeout=30)
        with database.sessions() as session:
            assert session.scalar(select(func.count(Randomisation.id))) == 3
    finally:
        database.dispose()
        drop_postgres_database(url)
