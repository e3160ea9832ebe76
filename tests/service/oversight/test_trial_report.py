"""The trial report from a seeded database: who may see which, and the blinded one holds no arm.

The blinded report is read as the reader sees it (the rendered HTML, from which the PDF is made)
and must contain no arm label, no comparison of arms and nothing else derived from an arm.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.factories import (
    ENROLMENT_DAY,
    example_record,
    make_patient,
    make_site,
    make_trial,
    make_user,
    principal,
)
from tests.report_world import ARM_LABELS, CUTOFF, ReportWorld, fill_trial
from trialkit.analysis import consort_flow
from trialkit.errors import PermissionDenied
from trialkit.report.html import render_html
from trialkit.report.pdf import render_pdf
from trialkit.service.oversight.trial_report import REPORT_ENTITY, report_inputs, trial_report
from trialkit.service.platform.db.base import on_calendar
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.tables.audit import iter_events
from trialkit.service.screening import patients

ARM_DERIVED = re.compile(
    r"hazard ratio|\bHR\b|log-rank|logrank|interaction|Newcombe|difference in ORR|"
    r"protocol decision|Cox",
    re.IGNORECASE,
)


@pytest.fixture
def world(session: Session, security: Security) -> ReportWorld:
    return fill_trial(session, security)


def test_blinded_report_has_no_arm_and_nothing_arm_derived(
    session: Session, security: Security, world: ReportWorld
) -> None:
    actor = principal(session, security, world.statistician)
    inputs = report_inputs(session=session, actor=actor, trial_id=world.trial_id, cutoff=CUTOFF)
    assert inputs.blinded
    assert all(r.ARM is None and r.ARMCD is None for r in inputs.adsl)
    assert all(r.ARM is None for r in (*inputs.adtte, *inputs.adtte_ema))
    assert all(p.arm is None for p in inputs.consort)
    doc = trial_report(session=session, actor=actor, trial_id=world.trial_id, cutoff=CUTOFF)
    html = render_html(doc)
    body = html.replace(doc.title, "").replace(f"<title>{doc.title}", "")
    for label in ARM_LABELS:
        # the protocol title names the drugs; no table, figure or sentence may name an arm
        for table in doc.tables():
            assert label not in " ".join((table.caption, *table.header, *map(" ".join, table.rows)))
        for figure in doc.figures():
            assert label not in figure.svg
    assert ARM_DERIVED.search(body) is None, ARM_DERIVED.search(body)
    assert "BLINDED" in html
    # every KM figure shows one pooled curve, and so do the response and safety tables
    km = [f for f in doc.figures() if "Kaplan-Meier" in f.caption]
    assert len(km) >= 3
    assert all(f.svg.count("(n=") == 1 for f in km)
    groups = {t.rows[0][0] for t in doc.tables() if t.header and t.header[0] == "Group"}
    assert groups <= {"All patients", "All randomised"}
    # the PDF as a reader sees it: its text (tables, and the figures' labels) without the title
    pdf = PdfReader(io.BytesIO(render_pdf(html)))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "All patients (n=12" in text  # the figures' text is there to be read
    text = text.replace(" ".join(doc.title.split()), "")
    assert not any(label in text for label in ARM_LABELS)
    assert ARM_DERIVED.search(text) is None, ARM_DERIVED.search(text)


def test_unblinded_report_compares_the_arms(
    session: Session, security: Security, world: ReportWorld
) -> None:
    actor = principal(session, security, world.unblinded)
    doc = trial_report(
        session=session, actor=actor, trial_id=world.trial_id, unblinded=True, cutoff=CUTOFF
    )
    html = render_html(doc)
    assert "UNBLINDED" in html
    assert "Protocol decision: observed HR" in html
    flow = next(t for t in doc.tables() if t.caption == "Disposition")
    assert {row[0] for row in flow.rows} == set(ARM_LABELS)
    assert sum(int(row[1]) for row in flow.rows) == world.randomised
    pfs = next(t for t in doc.tables() if t.caption.startswith("Progression-free survival:"))
    # six patients progressed, the last (day 189) after two missed scans: censored under FDA
    # 2018, an event under the EMA 2012 rules
    assert sum(int(row[2]) for row in pfs.rows) == 5
    table = next(t for t in doc.tables() if "sensitivity" in t.caption)
    sensitivity = {r[0]: r for r in table.rows}
    assert sensitivity["ITT, stratified (primary)"][2] == "5"
    assert sensitivity["ITT, EMA 2012 censoring, stratified"][2] == "6"
    assert any("forest" in f.caption for f in doc.figures())
    screening = next(t for t in doc.tables() if t.caption == "Screening failures by criterion")
    assert screening.rows  # the HER2-positive patient
    safety = next(t for t in doc.tables() if t.caption.startswith("Safety"))
    assert safety.header[1:] == tuple(
        h for h in safety.header[1:] if h.split(" (N=")[0] in ARM_LABELS
    )


def test_who_may_see_which_report(session: Session, security: Security, world: ReportWorld) -> None:
    statistician = principal(session, security, world.statistician)
    with pytest.raises(PermissionDenied):
        trial_report(
            session=session,
            actor=statistician,
            trial_id=world.trial_id,
            unblinded=True,
            cutoff=CUTOFF,
        )
    with pytest.raises(PermissionDenied):
        trial_report(
            session=session,
            actor=principal(session, security, world.investigator),
            trial_id=world.trial_id,
            cutoff=CUTOFF,
        )
    # the monitor (blinded, all sites) gets the statistician's blinded report, never arms
    monitor = principal(session, security, world.monitor)
    with pytest.raises(PermissionDenied):
        trial_report(
            session=session,
            actor=monitor,
            trial_id=world.trial_id,
            unblinded=True,
            cutoff=CUTOFF,
        )
    seen = trial_report(session=session, actor=monitor, trial_id=world.trial_id, cutoff=CUTOFF)
    pooled = trial_report(
        session=session, actor=statistician, trial_id=world.trial_id, cutoff=CUTOFF
    )
    assert seen.blinded
    assert seen.snapshot_sha256 == pooled.snapshot_sha256
    assert render_html(seen) == render_html(pooled)
    dsmb = principal(session, security, world.dsmb)
    assert not trial_report(
        session=session, actor=dsmb, trial_id=world.trial_id, unblinded=True, cutoff=CUTOFF
    ).blinded


def _report_events(session: Session) -> list[dict[str, object]]:
    return [e.as_dict() for e in iter_events(session) if e.entity == REPORT_ENTITY]


def test_each_report_view_is_in_the_audit_trail_without_an_arm(
    session: Session, security: Security, world: ReportWorld
) -> None:
    unblinded = principal(session, security, world.unblinded)
    before = len(_report_events(session))
    doc = trial_report(
        session=session,
        actor=unblinded,
        trial_id=world.trial_id,
        unblinded=True,
        cutoff=CUTOFF,
        output="pdf",
    )
    monitor = principal(session, security, world.monitor)
    blinded = trial_report(
        session=session, actor=monitor, trial_id=world.trial_id, cutoff=CUTOFF, output="page"
    )
    seen, pooled = _report_events(session)[before:]
    # who, in which role, when, what (blinded or not), the cut-off and the snapshot hash
    assert seen["action"] == "view_unblinded_report"
    assert seen["username"] == world.unblinded.username
    assert seen["role"] == "unblinded_statistician"
    assert seen["entity_id"] == str(world.trial_id)
    assert seen["occurred_at"]
    assert seen["field"] == "snapshot_sha256"
    assert seen["new_value"] == doc.snapshot_sha256
    assert seen["reason"] == "unblinded report at the 2009-01-31 data cut-off (pdf)"
    assert pooled["action"] == "view_blinded_report"
    assert pooled["role"] == "monitor"
    assert pooled["new_value"] == blinded.snapshot_sha256
    assert pooled["reason"] == "blinded report at the 2009-01-31 data cut-off (page)"
    # never an arm, nor a number from the report: only the hash, the date and the output
    for event in (seen, pooled):
        text = " ".join(
            str(event[k]) for k in ("action", "field", "old_value", "new_value", "reason")
        )
        assert not any(label.lower() in text.lower() for label in (*ARM_LABELS, "arm"))
        assert not re.search(r"\d", re.sub(r"[0-9a-f]{64}|\d{4}-\d{2}-\d{2}|sha256", "", text)), (
            text
        )


def test_consort_counts_only_patients_screened_by_the_cut_off(
    session: Session, security: Security, world: ReportWorld
) -> None:
    """Screened = first screening record (or registration) on or before the cut-off."""
    actor = principal(session, security, world.statistician)
    before = consort_flow(
        report_inputs(session=session, actor=actor, trial_id=world.trial_id, cutoff=CUTOFF).consort
    )
    assert (before.screened, before.not_eligible, before.randomised) == (13, 1, 12)
    investigator = principal(session, security, world.investigator)
    site_id = investigator.grants[0].site_id
    assert site_id is not None
    record = example_record()
    record["receptors"] = dict(record["receptors"], her2={"ihc": "3+", "fish": "not_done"})
    registered = {}
    for name, registered_on, screened_on in (
        ("registered before, screened after", CUTOFF, CUTOFF + dt.timedelta(days=1)),
        ("screened after", CUTOFF + dt.timedelta(days=3), CUTOFF + dt.timedelta(days=3)),
        ("registered before, never screened", CUTOFF - dt.timedelta(days=1), None),
        ("registered after, never screened", CUTOFF + dt.timedelta(days=1), None),
        ("screened on the cut-off", CUTOFF, CUTOFF),
    ):
        with on_calendar(registered_on):
            patient = patients.register_patient(
                session=session, actor=investigator, site_id=site_id, screening_number=name[:32]
            )
        if screened_on is not None:
            with on_calendar(screened_on):
                patients.submit_screening_record(
                    session=session, actor=investigator, patient_id=patient.id, data=record
                )
                patients.evaluate_eligibility(
                    session=session, actor=investigator, patient_id=patient.id
                )
        registered[name] = patient.id
    after = consort_flow(
        report_inputs(session=session, actor=actor, trial_id=world.trial_id, cutoff=CUTOFF).consort
    )
    # counted: the one registered before and never screened (undetermined), and the one
    # screened on the cut-off (not eligible); not the three screened or registered after it
    assert (after.screened, after.not_eligible, after.randomised) == (15, 2, 12)
    later = consort_flow(
        report_inputs(
            session=session,
            actor=actor,
            trial_id=world.trial_id,
            cutoff=CUTOFF + dt.timedelta(days=3),
        ).consort
    )
    assert (later.screened, later.not_eligible) == (18, 4)


EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "sor"


def _example(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return data


def test_screening_failures_count_only_the_criteria_that_decided_the_verdict(
    session: Session, security: Security
) -> None:
    """CONSORT and the failures table count a numbered criterion only when it blocks.

    A world whose failures are known: an unmet alternative of a met criterion (I3.1, I3.3 and
    I3.4 for a woman post-menopausal by I3.2) and a sub-item under its criterion (I10.1 under
    I10) are no screening failures; each criterion is shown with its short text.
    """
    trial = make_trial(session)
    site = make_site(session, trial)
    investigator = principal(
        session, security, make_user(session, security, trial, Role.INVESTIGATOR, site=site)
    )
    statistician = principal(
        session, security, make_user(session, security, trial, Role.STATISTICIAN)
    )
    endocrine = "01_endocrine_bone_only.json"  # post-menopausal by I3.2 alone
    world: list[tuple[dict[str, Any], bool | None, tuple[str, ...]]] = [
        (_example(endocrine), True, ()),
        (_example(endocrine, history__peripheral_neuropathy_grade=2), False, ("E11",)),
        (
            _example(endocrine, labs__haemoglobin={"value": 8.1, "unit": "g/dL"}),
            False,
            ("I10",),
        ),
        (_example("04_her2_positive.json"), False, ("E1",)),
        (_example("05_premenopausal_er_positive_no_ablation.json"), False, ("I3", "E5")),
        (_example("08_triple_negative_recent_taxane.json"), False, ("I4",)),
        (_example("09_active_brain_metastases_ecog_2.json"), False, ("I9", "E2")),
        (_example("06_missing_labs.json"), None, ()),  # undetermined: no failure
    ]
    with on_calendar(ENROLMENT_DAY):
        for record, verdict, _ in world:
            patient = make_patient(session, investigator, site)
            patients.submit_screening_record(
                session=session, actor=investigator, patient_id=patient.id, data=record
            )
            evaluation = patients.evaluate_eligibility(
                session=session, actor=investigator, patient_id=patient.id
            )
            assert evaluation.eligible is verdict
    inputs = report_inputs(
        session=session, actor=statistician, trial_id=trial.id, cutoff=ENROLMENT_DAY
    )
    flow = consort_flow(inputs.consort)
    assert (flow.screened, flow.not_eligible, flow.undetermined) == (8, 6, 1)
    expected = dict.fromkeys((c for _, _, deciding in world for c in deciding), 1)
    assert flow.not_eligible_by_criterion == expected
    doc = trial_report(session=session, actor=statistician, trial_id=trial.id, cutoff=ENROLMENT_DAY)
    table = next(t for t in doc.tables() if t.caption == "Screening failures by criterion")
    assert table.header == ("Criterion", "Short text", "Patients")
    shown = {row[0]: (row[1], row[2]) for row in table.rows}
    assert set(shown) == set(expected)
    assert shown["E1"] == ("HER2-positive or HER2 status unknown", "1")
    assert shown["I9"] == ("ECOG performance status 0 or 1", "1")
    figure = next(f for f in doc.figures() if f.caption == "CONSORT flow diagram")
    assert "I3.1" not in figure.svg
    assert "I10.1" not in figure.svg
    assert "E11 Peripheral neuropathy grade &gt;= 2: 1" in figure.svg
