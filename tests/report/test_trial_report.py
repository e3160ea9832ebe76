"""The report builder on a synthetic 220-patient SOR-like trial (pure: no database)."""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path

import numpy as np

from trialkit.analysis import two_arm_survival
from trialkit.endpoints import DAYS_PER_MONTH
from trialkit.protocol import load_protocol
from trialkit.report.document import ReportDocument, Table, TextBlock
from trialkit.report.html import render_html
from trialkit.report.inputs import DataIssueRow, ReportInputs, snapshot_sha256
from trialkit.report.pdf import render_pdf
from trialkit.report.synthetic import synthetic_inputs
from trialkit.report.trial_report import build_trial_report

ARM_DERIVED = re.compile(
    r"hazard ratio|\bHR\b|log-rank|interaction|Newcombe|difference in ORR|decision|Cox",
    re.IGNORECASE,
)


@cache
def unblinded_inputs() -> ReportInputs:
    return synthetic_inputs(np.random.default_rng(7), patients=120)


@cache
def unblinded() -> ReportDocument:
    return build_trial_report(unblinded_inputs())


def test_a_blinded_report_ignores_arms_even_when_given_them() -> None:
    doc = build_trial_report(dataclasses.replace(unblinded_inputs(), blinded=True))
    html = render_html(doc).replace(doc.title, "")
    assert "Sorafenib" not in html
    assert "Placebo" not in html
    assert ARM_DERIVED.search(html) is None
    assert "BLINDED - pooled data" in html


def test_unblinded_decision_follows_the_primary_hr() -> None:
    inputs = unblinded_inputs()
    adsl = {r.USUBJID: r for r in inputs.adsl}
    pfs = [r for r in inputs.adtte if r.PARAMCD == "PFS"]
    result = two_arm_survival(
        [r.AVAL / DAYS_PER_MONTH for r in pfs],
        [1 - r.CNSR for r in pfs],
        [adsl[r.USUBJID].ARM for r in pfs],
        "Placebo",
        strata=[adsl[r.USUBJID].STRATAR for r in pfs],
    )
    assert result.stratified_cox is not None
    hr = float(result.stratified_cox.hr[0])
    html = render_html(unblinded())
    verdict = "MET" if hr <= 0.82 else "NOT MET"
    assert f"observed HR {hr:.3f}" in html
    assert f"is {verdict} (" in html
    assert "false-positive rate" in html


def test_km_figures_label_arms_mark_censoring_and_count_at_risk() -> None:
    doc = unblinded()
    pfs = next(f for f in doc.figures() if f.caption.startswith("Progression-free survival"))
    assert "Sorafenib (n=" in pfs.svg
    assert "Placebo (n=" in pfs.svg
    assert "Number at risk" in pfs.svg
    assert "<text" in pfs.svg  # text kept as text, searchable in the HTML and PDF
    n = {r.ARM: 0 for r in unblinded_inputs().adsl}
    for r in unblinded_inputs().adsl:
        n[r.ARM] += 1
    for arm, count in n.items():
        assert f"{arm} (n={count}," in pfs.svg


def test_html_is_self_contained_and_the_pdf_opens() -> None:
    html = render_html(unblinded())
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html
    assert html.count("<svg") == len(unblinded().figures())
    pdf = render_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_every_section_is_there() -> None:
    titles = [s.title for s in unblinded().sections]
    assert titles == [
        "Patient flow (CONSORT)",
        "Progression-free survival",
        "Time to progression",
        "Overall survival",
        "Objective response and duration of response",
        "Safety",
        "PFS by subgroup",
        "Data issues",
    ]


def test_snapshot_hash_follows_the_data() -> None:
    inputs = unblinded_inputs()
    assert snapshot_sha256(inputs) == snapshot_sha256(dataclasses.replace(inputs))
    assert snapshot_sha256(inputs) == unblinded().snapshot_sha256
    fewer = dataclasses.replace(inputs, adverse_events=inputs.adverse_events[1:])
    assert snapshot_sha256(fewer) != snapshot_sha256(inputs)
    retitled = dataclasses.replace(inputs, title="another title")
    assert snapshot_sha256(retitled) == snapshot_sha256(inputs)


def test_data_issues_are_listed_by_patient_and_enter_the_snapshot() -> None:
    inputs = unblinded_inputs()
    issues = (
        DataIssueRow("SOR-IT01-9", "death_date 2001-01-01 is before randomisation", "set aside"),
        DataIssueRow("SOR-IT01-2", "new_therapy_date 0990-01-01 is before", "set aside too"),
    )
    listed = dataclasses.replace(inputs, data_issues=issues)
    section = build_trial_report(listed).sections[-1]
    table = section.blocks[0]
    assert section.title == "Data issues"
    assert isinstance(table, Table)
    assert [row[0] for row in table.rows] == ["SOR-IT01-2", "SOR-IT01-9"]
    assert table.header == ("Patient", "What is inconsistent", "How the analyses handled it")
    assert snapshot_sha256(listed) != snapshot_sha256(inputs)
    for blinded in (True, False):  # the same rows whoever reads them: no arm in them
        doc = build_trial_report(dataclasses.replace(listed, blinded=blinded))
        assert doc.sections[-1] == section
    none = build_trial_report(inputs).sections[-1]
    assert none.blocks == (
        TextBlock("No recorded inconsistency: every date was used as recorded."),
    )


def test_no_randomised_patient_gives_a_report_that_says_so() -> None:
    empty = dataclasses.replace(
        unblinded_inputs(),
        adsl=(),
        adtte=(),
        adtte_ema=(),
        best_response={},
        adverse_events=(),
        exposure_days={},
        consort=(),
        country={},
    )
    for blinded in (False, True):
        doc = build_trial_report(dataclasses.replace(empty, blinded=blinded))
        html = render_html(doc)
        assert "Randomised (n=0)" in html
        assert "No randomised patients." in html


def test_synthetic_background_therapies_are_the_protocols_groups() -> None:
    """The synthetic patients' therapies are the groups the therapy rules assign (the values
    the service stores at randomisation), for SOR and for another protocol given."""
    sor = load_protocol("sor")
    assert sor.background_therapy is not None
    groups = {rule.id for rule in sor.background_therapy.rules}
    assert {row.BGTHER for row in unblinded_inputs().adsl} == groups
    geri = load_protocol(Path(__file__).parents[1] / "protocol" / "data" / "geriatric.yaml")
    drawn = synthetic_inputs(np.random.default_rng(1), patients=30, protocol=geri)
    assert {row.BGTHER for row in drawn.adsl} == {"bone"}  # geriatric.yaml's one therapy rule
