"""The CIOMS I form of a case, as HTML (and PDF through the report's WeasyPrint renderer)."""

from __future__ import annotations

from html import escape

from trialkit.report.pdf import render_pdf
from trialkit.safety.case import Case
from trialkit.safety.sae import CAUSALITY, CRITERIA, OUTCOMES

__all__ = ["cioms_html", "cioms_pdf"]

_CSS = """
@page { size: A4; margin: 12mm; }
body { font-family: sans-serif; font-size: 9pt; }
h1 { font-size: 12pt; margin: 0 0 4pt; }
h2 { font-size: 10pt; background: #ddd; margin: 8pt 0 2pt; padding: 2pt; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #000; padding: 3pt; vertical-align: top; text-align: left; }
.box { font-family: monospace; }
"""


def _cell(number: str, label: str, value: str) -> str:
    return f"<td><small>{escape(number)}. {escape(label)}</small><br>{escape(value)}</td>"


def cioms_html(case: Case) -> str:
    """The case on the CIOMS I form's four parts: reaction, suspect drugs, history, sender."""
    report = case.report
    onset = report.onset_date
    ticks = "".join(
        f"<li><span class='box'>[{'X' if c in report.criteria else ' '}]</span> "
        f"{escape(label)}</li>"
        for c, label in CRITERIA.items()
    )
    suspects = [d for d in case.assessment.drugs if d.related]
    others = [d for d in case.assessment.drugs if not d.related]
    drug_rows = (
        "".join(
            "<tr>"
            + _cell("14", "Suspect drug", case.products.get(d.drug, d.drug))
            + _cell(
                "",
                "Causality (investigator / sponsor)",
                f"{CAUSALITY.get(d.investigator or '', 'not given')} / "
                f"{CAUSALITY.get(d.sponsor or '', 'not given')}",
            )
            + _cell("", "Expected (reference safety information)", "yes" if d.expected else "no")
            + "</tr>"
            for d in suspects
        )
        or "<tr><td colspan='3'>No drug is judged related.</td></tr>"
    )
    concomitant = ", ".join(case.products.get(d.drug, d.drug) for d in others) or "none"
    description = (
        f"{report.term or 'term not given'}"
        + (f" (CTCAE grade {report.grade})" if report.grade else "")
        + (f"; MedDRA LLT {report.meddra_llt}" if report.meddra_llt else "")
        + f". Outcome: {OUTCOMES.get(report.outcome or '', 'not given')}."
        + (f" Died on {report.death_date}." if report.death_date else "")
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CIOMS I {escape(case.case_id)}</title>
<style>{_CSS}</style></head><body>
<h1>CIOMS FORM — SUSPECT ADVERSE REACTION REPORT</h1>
<h2>I. Reaction information</h2>
<table><tr>
{_cell("1", "Patient (pseudonym)", case.patient)}
{_cell("1a", "Country", case.country)}
{_cell("2a", "Age", f"{case.age_years} years" if case.age_years is not None else "unknown")}
{_cell("3", "Sex", case.sex)}
{_cell("4-6", "Reaction onset", onset.isoformat() if onset else "unknown")}
</tr><tr><td colspan="3"><small>7 + 13. Describe reaction(s)</small><br>
{escape(description)}<br>{escape(report.narrative or "")}</td>
<td colspan="2"><small>8-12. Check all appropriate to adverse reaction</small>
<ul style="list-style:none;padding:0">{ticks}</ul></td></tr></table>
<h2>II. Suspect drug(s) information</h2>
<table>{drug_rows}</table>
<h2>III. Concomitant drug(s) and history</h2>
<table><tr>{_cell("22", "Concomitant drug(s)", concomitant)}</tr></table>
<h2>IV. Manufacturer information</h2>
<table><tr>
{_cell("24a", "Name of the sponsor", case.sender)}
{_cell("24b", "Sponsor control number", f"{case.protocol_id}-{case.case_id}")}
{_cell("24c", "Date received by the sponsor", case.first_received.date().isoformat())}
{
        _cell(
            "24d",
            "Report source",
            f"study: {case.trial_acronym} ({case.protocol_id}), site {case.site_code}",
        )
    }
</tr><tr>
{_cell("", "Date of this report", case.created.date().isoformat())}
{_cell("25a", "Report type", "initial" if case.version == 1 else f"follow-up {case.version - 1}")}
</tr></table>
</body></html>
"""


def cioms_pdf(case: Case) -> bytes:
    """The CIOMS I form as PDF bytes."""
    return render_pdf(cioms_html(case))
