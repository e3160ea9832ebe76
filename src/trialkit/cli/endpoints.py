"""``trialkit endpoints derive``: ADSL and ADTTE from the captured data, as CSV.

Blinded by default: the arm columns are left out. ``--unblinded`` needs ``--user`` naming a user
who holds an unblinded role (unblinded statistician, DSMB member).
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.orm import Session

from trialkit.cli._common import fail, print_json
from trialkit.cli._db import cli_actor, service_transaction
from trialkit.endpoints import ARM_COLUMNS, csv_text
from trialkit.service.capture.outcomes import acting_user, derive_datasets
from trialkit.service.platform.principal import Principal
from trialkit.service.trials import trials

__all__ = ["app", "derive"]

app = typer.Typer(help="Endpoints and analysis datasets from the trial database.")


def actor_for(session: Session, user: str | None, *, unblinded: bool) -> Principal:
    """The system operator, or the named user (required for unblinded output)."""
    if user is None:
        if unblinded:
            fail("--unblinded needs --user NAME: a user with an unblinded role")
        return cli_actor()
    return acting_user(session=session, username=user, request_id=cli_actor().request_id)


@app.command("derive")
def derive(
    out: Path = typer.Option(..., "--out", help="Directory for adsl.csv and adtte.csv."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
    rules: str = typer.Option("fda", "--rules", help="Censoring: fda (2018) or ema (2012)."),
    unblinded: bool = typer.Option(False, "--unblinded", help="Include the arm columns."),
    user: str | None = typer.Option(None, "--user", help="Act as this user (for --unblinded)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """Write ADSL (one row per randomised patient) and ADTTE (PFS, TTP, OS, DOR) as CSV."""
    if rules not in ("fda", "ema"):
        fail(f"--rules {rules!r}: give fda or ema")
    with service_transaction() as session:
        actor = actor_for(session, user, unblinded=unblinded)
        trial_id = trials.find_trial(session, trial).id
        data = derive_datasets(
            session=session, actor=actor, trial_id=trial_id, unblinded=unblinded, rules=rules
        )
    omit = () if unblinded else ARM_COLUMNS
    out.mkdir(parents=True, exist_ok=True)
    (out / "adsl.csv").write_text(csv_text(data.adsl, omit=omit), encoding="utf-8")
    (out / "adtte.csv").write_text(csv_text(data.adtte, omit=omit), encoding="utf-8")
    summary = {
        "out": str(out),
        "adsl_rows": len(data.adsl),
        "adtte_rows": len(data.adtte),
        "unblinded": unblinded,
        "rules": rules,
    }
    if as_json:
        print_json(summary)
    else:
        typer.echo(
            f"wrote {out / 'adsl.csv'} ({len(data.adsl)} rows) and {out / 'adtte.csv'} "
            f"({len(data.adtte)} rows); {'unblinded' if unblinded else 'blinded: no arm columns'}"
        )
