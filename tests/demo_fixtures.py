"""A small seeded demo trial for tests that need realistic data (tests/conftest.py registers it).

    def test_x(demo_trial: SeededDemo) -> None: ...

``demo_trial`` seeds :data:`SMALL_DEMO` through the service in the test's rolled-back
transaction (SQLite and PostgreSQL, as every database test), with the principals of each role.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from trialkit.service.demo import DemoOptions, DemoSeed, seed_demo
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.security import Security
from trialkit.service.trials.trials import find_site, find_trial

__all__ = ["SMALL_DEMO", "SeededDemo", "demo_trial"]

SMALL_DEMO = DemoOptions(scenario="alt", seed=11, patients=24)
"""24 women screened over the enrolment period: a few seconds to seed."""


@dataclass(frozen=True)
class SeededDemo:
    outcome: DemoSeed
    trial_id: int
    site_ids: dict[str, int]

    def actor(self, role: Role, site: str | None = None) -> Principal:
        """A principal holding one role (at one site for site roles)."""
        site_id = self.site_ids[site] if site else None
        return Principal(
            user_id=None,
            username=f"test-{role.value}",
            grants=(Grant(role, self.trial_id, site_id),),
            request_id="test",
        )


@pytest.fixture
def demo_trial(session: Session, security: Security) -> SeededDemo:
    outcome = seed_demo(
        session=session, security=dataclasses.replace(security, demo=True), options=SMALL_DEMO
    )
    trial = find_trial(session, "SOR")
    codes = ["IT01", "IT02", "DE01", "DE02", "PL01", "PL02", "RU01", "RU02", "DE03"]
    return SeededDemo(
        outcome,
        trial.id,
        {code: find_site(session, trial_id=trial.id, code=code).id for code in codes},
    )
