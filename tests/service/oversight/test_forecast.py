"""Event prediction from the database: the blinded table at a cut-off, the forecast, blinding."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import (
    make_eligible_patient,
    make_site,
    make_trial,
    make_user,
    principal,
    randomise_patient,
    seal_trial,
    stock_site,
)
from tests.sor_forms import Form
from trialkit.errors import InputError, PermissionDenied
from trialkit.predict import ARM_COLUMN, COLUMNS
from trialkit.service.capture import capture
from trialkit.service.oversight.forecast import (
    blinded_table,
    clear_forecast_cache,
    design_stage_forecast,
    trial_forecast,
)
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation
from trialkit.service.randomisation.tables.randomisation import AllocationSlot

START = dt.date(2008, 1, 7)
BASELINE = {
    "target": [{"id": "T1", "organ": "liver", "lymph_node": False, "diameter_mm": 50}],
    "non_target": [{"id": "NT1", "organ": "bone", "method": "bone scan"}],
}


@dataclass(frozen=True)
class Trial:
    id: int
    investigator: Principal
    monitor: Principal
    statistician: Principal
    pharmacist: Principal
    patients: list[int]


def _record(session: Session, who: Principal, pid: int, form: Form, data: dict[str, Any]) -> None:
    capture.record_form(session=session, actor=who, patient_id=pid, form=form, data=data)


def _day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


def _fill(session: Session, who: Principal, enrolled: dict[int, int]) -> None:
    """Baselines for all; PD for patient 0 at day 56, deaths for 1-3, end of study for 4."""
    pids = list(enrolled)
    for pid, day in enrolled.items():
        _record(session, who, pid, Form.TUMOUR_BASELINE, BASELINE | {"date": _day(day - 3)})
    first = pids[0]
    scan = {"target": {"T1": 70}, "non_target": {"NT1": "present"}, "new_lesions": False}
    _record(
        session, who, first, Form.TUMOUR_ASSESSMENT, scan | {"date": _day(enrolled[first] + 56)}
    )
    for k, pid in enumerate(pids[1:4], start=1):
        death = {"date": _day(enrolled[pid] + 30 * k), "cause": "progression"}
        _record(session, who, pid, Form.DEATH, death)
    _record(
        session,
        who,
        pids[4],
        Form.END_OF_STUDY,
        {"date": _day(enrolled[pids[4]] + 20), "reason": "withdrawal_of_consent"},
    )


@pytest.fixture
def trial(session: Session, security: Security) -> Trial:
    """Ten patients randomised for real (sealed list, kits), a week apart from START."""
    view = make_trial(session)
    site = make_site(session, view)
    seal_trial(session, view)
    stock_site(session, view, site)

    def who(role: Role) -> Principal:
        at = site if role in (Role.INVESTIGATOR, Role.PHARMACIST) else None
        return principal(session, security, make_user(session, security, view, role, site=at))

    investigator = who(Role.INVESTIGATOR)
    enrolled: dict[int, int] = {}
    for k in range(10):
        patient = randomise_patient(session, investigator, site, START + dt.timedelta(days=7 * k))
        enrolled[patient.id] = 7 * k
    _fill(session, investigator, enrolled)
    return Trial(
        view.id,
        investigator,
        who(Role.MONITOR),
        who(Role.STATISTICIAN),
        who(Role.PHARMACIST),
        list(enrolled),
    )


def test_table_is_blinded_and_follows_the_derivation(session: Session, trial: Trial) -> None:
    table = blinded_table(session=session, actor=trial.monitor, trial_id=trial.id)
    assert table.header == COLUMNS
    assert not any(ARM_COLUMN.match(name) for name in table.header)
    rows = {r[4].rsplit("-", 1)[1]: r for r in table.rows}
    assert len(rows) == 10
    # default cut-off: the latest recorded date (the third death, 90 days after day 21)
    assert table.cutoff == START + dt.timedelta(days=21 + 90)
    by_enrolment = {r[0]: r for r in table.rows}
    assert by_enrolment[_day(0)][1:4] == (_day(56), "", "0")  # progression
    assert by_enrolment[_day(7)][1:4] == (_day(37), "", "0")  # death
    assert by_enrolment[_day(28)][1:4] == ("", _day(28), "1")  # withdrew: dropout at start
    assert by_enrolment[_day(35)][1:4] == ("", "", "0")  # ongoing


def test_data_after_the_cutoff_is_not_used(session: Session, trial: Trial) -> None:
    cutoff = START + dt.timedelta(days=60)
    table = blinded_table(session=session, actor=trial.monitor, trial_id=trial.id, cutoff=cutoff)
    assert table.cutoff == cutoff
    events = [r for r in table.rows if r[1]]
    assert sorted(r[1] for r in events) == [_day(37), _day(56)]  # later deaths still to come
    assert all(r[0] <= cutoff.isoformat() for r in table.rows)
    with pytest.raises(InputError, match="no patient was randomised by the cut-off"):
        blinded_table(
            session=session, actor=trial.monitor, trial_id=trial.id, cutoff=dt.date(2007, 1, 1)
        )


def test_forecast_for_blinded_roles_only_and_cached(session: Session, trial: Trial) -> None:
    result = trial_forecast(
        session=session, actor=trial.statistician, trial_id=trial.id, n_sims=200, seed=3
    )
    out = result.to_dict((dt.date(2010, 1, 1),))
    assert out["model"] == "average"  # the default event model
    assert out["target"] == 120
    assert out["events_so_far"] == 4
    assert out["at_risk"] == 5
    assert out["enrolled"] == 10
    assert out["dropouts"] == 1
    lo, hi = out["predicted_date_90pi"]
    # one withdrawal in ten patients: some continuations lose too many to dropout (hi: never)
    assert out["cutoff"] < lo <= out["predicted_date_median"] <= (hi or "9999")
    assert out["cutoff"] < out["enrolment_complete_date_median"]
    assert 0.0 <= out["at"][0]["probability_target_reached"] <= 1.0
    # the mixture's component medians would estimate the arms' medians: withheld
    assert "hazard_ratio" not in repr(out)
    assert "median_1" not in repr(out)
    again = trial_forecast(
        session=session, actor=trial.monitor, trial_id=trial.id, n_sims=200, seed=3
    )
    assert again.forecast is result.forecast  # same snapshot: the cached forecast
    for role in (trial.investigator, trial.pharmacist):
        with pytest.raises(PermissionDenied):
            trial_forecast(session=session, actor=role, trial_id=trial.id, n_sims=200)
    with pytest.raises(InputError, match="between 10 and 20000"):
        trial_forecast(session=session, actor=trial.monitor, trial_id=trial.id, n_sims=10**6)
    design = design_stage_forecast(
        session=session, actor=trial.monitor, trial_id=trial.id, n_sims=200
    )
    assert design.stage == "design"
    assert design.target == 120


def test_no_randomised_patient_says_so(session: Session, security: Security) -> None:
    view = make_trial(session)
    monitor = principal(session, security, make_user(session, security, view, Role.MONITOR))
    with pytest.raises(InputError, match="no patient of SOR is randomised yet"):
        trial_forecast(session=session, actor=monitor, trial_id=view.id, n_sims=100)


def test_forecast_is_the_same_whether_or_not_arms_exist(
    session: Session, security: Security
) -> None:
    """Really randomised patients; the forecast is unchanged when every arm is swapped."""
    view = make_trial(session)
    site = make_site(session, view, country="DE")
    seal_trial(session, view)
    stock_site(session, view, site)
    investigator = principal(
        session, security, make_user(session, security, view, Role.INVESTIGATOR, site=site)
    )
    monitor = principal(session, security, make_user(session, security, view, Role.MONITOR))
    enrolled: dict[int, int] = {}
    for k in range(6):
        patient = make_eligible_patient(session, investigator, site)
        day = 60 + 9 * k
        randomisation.randomise(
            session=session,
            actor=investigator,
            patient_id=patient.id,
            on_date=START + dt.timedelta(days=day),
        )
        enrolled[patient.id] = day
    _fill(session, investigator, enrolled)

    def forecast() -> dict[str, Any]:
        clear_forecast_cache()
        table = blinded_table(session=session, actor=monitor, trial_id=view.id)
        result = trial_forecast(session=session, actor=monitor, trial_id=view.id, n_sims=300)
        return {"table": (table.header, table.rows), **result.to_dict()}

    before = forecast()
    arms = set(
        session.scalars(select(AllocationSlot.arm).where(AllocationSlot.trial_id == view.id))
    )
    assert len(arms) == 2
    a, b = sorted(arms)
    session.execute(
        update(AllocationSlot)
        .where(AllocationSlot.trial_id == view.id)
        .values(arm=AllocationSlot.arm.op("||")("_"))
    )
    session.execute(update(AllocationSlot).where(AllocationSlot.arm == f"{a}_").values(arm=b))
    session.execute(update(AllocationSlot).where(AllocationSlot.arm == f"{b}_").values(arm=a))
    session.flush()
    assert forecast() == before
    assert before["events_so_far"] == 4
