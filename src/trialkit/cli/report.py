"""``trialkit report``: the trial report as a self-contained HTML file and, with ``--pdf``, a PDF.

Blinded by default (pooled curves and counts, no arm). ``--unblinded`` needs ``--user`` naming a
user who holds an unblinded role (unblinded statistician, DSMB member), as
``trialkit endpoints derive --unblinded`` does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from trialkit.cli._common import fail, print_json, user_errors

__all__ = ["report"]


def _cutoff(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--cutoff {text!r} is not a date; give it as YYYY-MM-DD, e.g. 2009-06-30")


def report(
    out: Path = typer.Option(..., "--out", help="Directory for report.html (and report.pdf)."),
    unblinded: bool = typer.Option(
        False, "--unblinded/--blinded", help="By arm (needs --user with an unblinded role)."
    ),
    pdf: bool = typer.Option(False, "--pdf", help="Also write report.pdf (WeasyPrint)."),
    cutoff: str | None = typer.Option(
        None,
        "--cutoff",
        help="Data cut-off date YYYY-MM-DD (default: the service's calendar date, "
        "TRIALKIT_CALENDAR_DATE when pinned, else today).",
    ),
    user: str | None = typer.Option(None, "--user", help="Act as this user (for --unblinded)."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """Write the trial report: CONSORT flow, efficacy, safety and subgroups."""
    # imported here, not at the top: 'trialkit report --help' then needs none of them
    from trialkit.cli._db import service_transaction
    from trialkit.cli.endpoints import actor_for
    from trialkit.report.html import render_html
    from trialkit.report.pdf import render_pdf
    from trialkit.service.oversight.trial_report import trial_report
    from trialkit.service.trials import trials

    day = _cutoff(cutoff)  # None: the service's calendar date
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file; give a directory for the report")
    with service_transaction() as session:
        actor = actor_for(session, user, unblinded=unblinded)
        trial_id = trials.find_trial(session, trial).id
        document = trial_report(
            session=session,
            actor=actor,
            trial_id=trial_id,
            unblinded=unblinded,
            cutoff=day,
            output="pdf" if pdf else "html",
        )
    html = render_html(document)
    written = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        html_path = out / "report.html"
        html_path.write_text(html, encoding="utf-8")
        written["html"] = str(html_path)
        if pdf:
            with user_errors():
                data = render_pdf(html)
            pdf_path = out / "report.pdf"
            pdf_path.write_bytes(data)
            written["pdf"] = str(pdf_path)
    except OSError as exc:
        fail(f"cannot write the report to {out}: {exc.strerror}; check the folder is writable")
    summary = {
        **written,
        "blinded": document.blinded,
        "trial": document.trial,
        "cutoff": document.cutoff.isoformat(),
        "snapshot_sha256": document.snapshot_sha256,
        "sections": [s.title for s in document.sections],
    }
    if as_json:
        print_json(summary)
    else:
        kind = "blinded" if document.blinded else "unblinded"
        typer.echo(
            f"wrote the {kind} report ({document.cutoff} cut-off) to "
            + " and ".join(written.values())
        )
