"""The trial report: CONSORT flow, efficacy, safety and subgroups, as a
:class:`~trialkit.report.document.ReportDocument`.

Pure: everything comes from :class:`~trialkit.report.inputs.ReportInputs`. A blinded report is
built from inputs without arms and, defensively, ignores any arm it is given: its curves,
counts and tables are pooled, and it computes no comparison of arms.
"""

from __future__ import annotations

from trialkit.analysis import (
    ConsortPatient,
    KaplanMeier,
    SafetyPatient,
    SafetyTables,
    consort_flow,
    safety_tables,
)
from trialkit.analysis.safety import GRADES
from trialkit.report.consort_diagram import consort_svg, screening_failures
from trialkit.report.document import Block, FigureBlock, ReportDocument, Section, Table, TextBlock
from trialkit.report.efficacy import (
    POOLED,
    response_section,
    subgroup_section,
    time_to_event_sections,
)
from trialkit.report.formatting import num, pct
from trialkit.report.inputs import ReportInputs, snapshot_sha256
from trialkit.safety.dsmb import group_safety

__all__ = ["build_trial_report"]

TOP_TERMS = 25


def _consort_section(inputs: ReportInputs) -> Section:
    if inputs.blinded:
        patients = [
            ConsortPatient(
                eligible=p.eligible,
                failed_criteria=p.failed_criteria,
                randomised=p.randomised,
                treated=p.treated,
                discontinued_reason=p.discontinued_reason,
                analysed=p.analysed,
            )
            for p in inputs.consort
        ]
        flow = consort_flow(patients)
    else:
        arms = [a.label for a in sorted(inputs.arms, key=lambda a: a.control)]
        flow = consort_flow(inputs.consort, arms=arms)
    blocks: list[Block] = [FigureBlock("CONSORT flow diagram", consort_svg(flow, inputs.criteria))]
    if flow.not_eligible_by_criterion:
        blocks.append(
            Table(
                "Screening failures by criterion",
                ("Criterion", "Short text", "Patients"),
                tuple(
                    (c, text, str(n)) for c, text, n in screening_failures(flow, inputs.criteria)
                ),
                note="Only the numbered criteria that made the patient not eligible are "
                "counted (not the unmet alternatives of a criterion met another way); a patient "
                "failing several criteria is counted under each.",
            )
        )
    rows = []
    for arm in flow.arms:
        reasons = "; ".join(f"{r.replace('_', ' ')}: {n}" for r, n in arm.discontinued.items())
        rows.append(
            (
                arm.arm,
                str(arm.randomised),
                str(arm.treated),
                str(sum(arm.discontinued.values())),
                reasons or "-",
                str(arm.analysed),
            )
        )
    blocks.append(
        Table(
            "Disposition",
            ("Group", "Randomised", "Received study drug", "Discontinued", "Reasons", "Analysed"),
            tuple(rows),
        )
    )
    return Section("consort", "Patient flow (CONSORT)", tuple(blocks))


def _safety(inputs: ReportInputs) -> SafetyTables:
    adsl = [r for r in inputs.adsl if r.SAFFL == "Y"]
    patients = [
        SafetyPatient(
            usubjid=r.USUBJID,
            group=POOLED if inputs.blinded else (r.ARM or ""),
            died=r.DTHFL == "Y",
            exposure_days=inputs.exposure_days.get(r.USUBJID),
        )
        for r in adsl
    ]
    ids = {p.usubjid for p in patients}
    events = [e for e in inputs.adverse_events if e.usubjid in ids]
    order = (
        [POOLED]
        if inputs.blinded
        else [a.label for a in sorted(inputs.arms, key=lambda a: a.control)]
    )
    return safety_tables(patients, events, groups=order)


def _safety_section(inputs: ReportInputs) -> Section:
    tables = _safety(inputs)
    cols = tables.columns
    header = ("", *(f"{c.group} (N={c.n})" for c in cols))
    overview = (
        ("Any adverse event", *(pct(c.any_ae, c.n) for c in cols)),
        ("Grade 3 or higher", *(pct(c.grade_3_plus, c.n) for c in cols)),
        ("Serious adverse event", *(pct(c.serious, c.n) for c in cols)),
        ("Fatal adverse event (grade 5)", *(pct(c.fatal_ae, c.n) for c in cols)),
        ("Deaths (any cause)", *(pct(c.deaths, c.n) for c in cols)),
        ("Exposure, patient-days", *(str(c.exposure_patient_days) for c in cols)),
        ("Exposure, median days", *(num(c.exposure_median_days, 1) for c in cols)),
    )
    worst = tuple((f"Grade {g}", *(pct(c.worst_grade[g], c.n) for c in cols)) for g in GRADES)
    n = {c.group: c.n for c in cols}
    terms = tuple(
        (
            t.term.capitalize(),
            *(f"{pct(t.any_grade[c.group], n[c.group])} / {t.grade_3_plus[c.group]}" for c in cols),
        )
        for t in tables.terms[:TOP_TERMS]
    )
    blocks: list[Block] = [
        Table("Safety overview (safety population)", header, overview),
        Table("Patients by worst CTCAE grade of any adverse event", header, worst),
    ]
    if terms:
        blocks.append(
            Table(
                f"Adverse events by term (the {TOP_TERMS} most frequent): patients with the term "
                "at any grade (%) / at grade 3 or higher",
                ("Term", *header[1:]),
                terms,
                note="Each patient is counted once per term, at the worst grade recorded.",
            )
        )
    if tables.terms:
        by_grade = tuple(
            (
                t.term.capitalize(),
                *(str(t.by_grade[c.group][g]) for c in cols for g in GRADES),
            )
            for t in tables.terms[:TOP_TERMS]
        )
        blocks.append(
            Table(
                "Adverse events by term and worst CTCAE grade: patients",
                ("Term", *(f"{c.group} G{g}" for c in cols for g in GRADES)),
                by_grade,
                note="G1-G5: CTCAE v5 grade; each patient is counted once per term, at the worst "
                "grade recorded for it.",
            )
        )
    if tables.ungraded_events:
        blocks.append(
            TextBlock(f"{tables.ungraded_events} adverse events have no grade recorded yet.")
        )
    if inputs.safety:
        blocks.extend(_dsmb_blocks(inputs, [c.group for c in cols]))
    return Section("safety", "Safety", tuple(blocks))


KM_DAYS = (90, 180, 365)


def _dsmb_blocks(inputs: ReportInputs, groups: list[str]) -> list[Block]:
    """SAEs and SUSARs by arm, exposure-adjusted incidence, time to the first grade 3+ event."""
    figures = group_safety(inputs.safety, groups)
    header = ("", *(f"{g.group} (N={g.n})" for g in figures))
    serious = [
        (
            "Patients with a serious adverse event",
            *(pct(g.patients_with_sae, g.n) for g in figures),
        ),
        ("SAE cases reported", *(str(g.sae_cases) for g in figures)),
    ]
    if not inputs.blinded:  # a SUSAR depends on the arm: never in the blinded report
        serious.append(("SUSARs (reported to the authorities)", *(str(g.susars) for g in figures)))
    incidence = (
        ("Exposure, patient-years", *(num(g.exposure_years, 1) for g in figures)),
        ("Serious adverse event", *(num(g.sae_incidence, 1) for g in figures)),
        ("Adverse event of grade 3 or higher", *(num(g.grade3_incidence, 1) for g in figures)),
    )
    first = [
        ("Patients with an event", *(f"{g.patients_grade3} of {g.n}" for g in figures)),
        (
            "Median days (95% CI)",
            *(_median(g.km) for g in figures),
        ),
    ]
    first += [
        (
            f"Free of a grade 3+ event at {day} days",
            *(
                num(None if (v := g.free_of_grade3(day)) is None else 100 * v, 1) + " %"
                for g in figures
            ),
        )
        for day in KM_DAYS
    ]
    note = (
        "Pooled over the arms: the report is blinded, and SUSARs, which depend on the arm, are "
        "in the unblinded report only."
        if inputs.blinded
        else "SUSARs: serious, related and unexpected reactions decided by the sponsor's safety "
        "role after unblinding the case; on placebo an event is not reported as one."
    )
    return [
        Table("Serious adverse events and SUSARs", header, tuple(serious), note=note),
        Table(
            "Exposure-adjusted incidence: patients with the event per 100 patient-years on "
            "study drug",
            header,
            incidence,
        ),
        Table(
            "Time to the first adverse event of grade 3 or higher (Kaplan-Meier, from "
            "randomisation; censored at the cut-off or death)",
            header,
            tuple(first),
        ),
    ]


def _median(km: KaplanMeier | None) -> str:
    if km is None:
        return "-"
    median = km.median

    def fmt(value: float | None) -> str:
        return "NR" if value is None else num(value, 0)

    return f"{fmt(median.estimate)} ({fmt(median.lower)}, {fmt(median.upper)})"


def _data_issues_section(inputs: ReportInputs) -> Section:
    """Each analysed patient's recorded inconsistency and how the analyses handled it."""
    if not inputs.data_issues:
        return Section(
            "data-issues",
            "Data issues",
            (TextBlock("No recorded inconsistency: every date was used as recorded."),),
        )
    rows = tuple(
        (i.usubjid, i.what, i.handling)
        for i in sorted(inputs.data_issues, key=lambda i: (i.usubjid, i.what))
    )
    table = Table(
        f"Recorded inconsistencies set aside in the analyses ({len(rows)})",
        ("Patient", "What is inconsistent", "How the analyses handled it"),
        rows,
        note="One patient's inconsistent record never stops the report: the date concerned is "
        "set aside, as if not yet recorded, and the patient stays in every analysis population "
        "(ITT as randomised); the edit checks have opened a query at the site, and the date is "
        "used again once it is corrected.",
    )
    return Section("data-issues", "Data issues", (table,))


def build_trial_report(inputs: ReportInputs) -> ReportDocument:
    """Compute every table and figure of the report from ``inputs``."""
    kind = "blinded" if inputs.blinded else "unblinded"
    sections = [
        _consort_section(inputs),
        *time_to_event_sections(inputs),
        response_section(inputs),
        _safety_section(inputs),
        subgroup_section(inputs),
        _data_issues_section(inputs),
    ]
    return ReportDocument(
        title=f"{inputs.title}: {kind} trial report",
        trial=inputs.trial,
        cutoff=inputs.cutoff,
        snapshot_sha256=snapshot_sha256(inputs),
        software_version=inputs.software_version,
        blinded=inputs.blinded,
        sections=tuple(sections),
    )
