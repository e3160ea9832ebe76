"""The trial report's safety section: SAEs and SUSARs by arm for the DSMB, pooled (without
SUSARs, which depend on the arm) in the blinded report."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.demo_fixtures import SeededDemo
from trialkit.report.document import Table
from trialkit.report.html import render_html
from trialkit.service.oversight.trial_report import trial_report
from trialkit.service.platform.policy import Role


def test_the_dsmb_sees_saes_and_susars_by_arm_and_the_blinded_report_pools_saes(
    session: Session, demo_trial: SeededDemo
) -> None:
    dsmb = trial_report(
        session=session,
        actor=demo_trial.actor(Role.DSMB_MEMBER),
        trial_id=demo_trial.trial_id,
        unblinded=True,
    )
    html = render_html(dsmb)
    tables = [b for sec in dsmb.sections for b in sec.blocks if isinstance(b, Table)]
    serious = next(t for t in tables if t.caption == "Serious adverse events and SUSARs")
    susars = next(r for r in serious.rows if r[0].startswith("SUSARs"))
    sorafenib = next(i for i, h in enumerate(serious.header) if h.startswith("Sorafenib"))
    assert susars[sorafenib] == "1"  # the demo's one SUSAR, on sorafenib
    assert sum(int(v) for v in susars[1:]) == 1
    assert "Serious adverse events and SUSARs" in html
    assert "SUSARs (reported to the authorities)" in html
    assert "Exposure-adjusted incidence" in html
    assert "Time to the first adverse event of grade 3 or higher" in html
    assert "Sorafenib (N=" in html
    blinded = render_html(
        trial_report(
            session=session,
            actor=demo_trial.actor(Role.STATISTICIAN),
            trial_id=demo_trial.trial_id,
        )
    )
    assert "Serious adverse events and SUSARs" in blinded
    assert "SUSARs (reported" not in blinded
    assert "Sorafenib (N=" not in blinded
