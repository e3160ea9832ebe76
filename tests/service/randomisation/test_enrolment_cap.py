"""Over-enrolment is a protocol decision: randomisation warns past the target, refuses at the
cap with the reason, and every reader gets the one enrolment state (each test names its rule)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
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
from trialkit.errors import ConflictError, ProtocolError
from trialkit.protocol import load_protocol
from trialkit.protocol.loader import parse_protocol
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import TrialView
from trialkit.service.randomisation import randomisation
from trialkit.service.trials import trials

BUNDLED = Path(load_protocol.__code__.co_filename).parent / "protocols" / "sor.yaml"


@pytest.fixture
def small_trial(session: Session, tmp_path: Path) -> TrialView:
    """SOR with a target of 2 and a cap of 3 (no design section: its 220 patients go too)."""
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data.pop("design")
    data["enrolment"] = {"target": 2, "cap": 3, "text": "a small trial for the test"}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(path))


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
