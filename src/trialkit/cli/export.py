"""``trialkit export sdtm|odm``: the captured data as SDTM domains or CDISC ODM 1.3.

SDTM domains are written as CSV and as SAS transport files (XPT version 5, via pyreadstat, with
the SDTMIG variable labels), with ``define.xml`` (Define-XML 2.1) beside them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyreadstat
import typer

from trialkit.cli._common import fail
from trialkit.cli._db import service_transaction
from trialkit.cli.endpoints import actor_for
from trialkit.service.oversight.exports import Domain, odm_metadata_xml, odm_xml, sdtm_export
from trialkit.service.trials import trials

__all__ = ["app", "write_domain"]

app = typer.Typer(help="Export the captured clinical data (SDTM, ODM).", no_args_is_help=True)


def write_domain(domain: Domain, out: Path) -> None:
    """``dm.csv`` and ``dm.xpt`` (SAS transport v5: names <= 8, labels <= 40 characters)."""
    name = domain.name.lower()
    with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(domain.columns)
        writer.writerows(["" if v is None else v for v in row] for row in domain.rows)
    frame = pd.DataFrame(list(domain.rows), columns=list(domain.columns))
    variables = domain.variables()
    for variable in variables:
        column = variable.name
        if variable.numeric:
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].map(lambda v: "" if v is None else str(v)).astype(object)
    pyreadstat.write_xport(
        frame,
        str(out / f"{name}.xpt"),
        file_label=domain.label,
        column_labels=[v.label for v in variables],
        table_name=domain.name,
        file_format_version=5,
    )


@app.command("sdtm")
def sdtm(
    out: Path = typer.Option(..., "--out", help="Directory for the domain files."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
    unblinded: bool = typer.Option(
        False, "--unblinded", help="Add ARMCD/ARM/ACTARMCD/ACTARM/ARMNRS to DM."
    ),
    user: str | None = typer.Option(None, "--user", help="Act as this user (for --unblinded)."),
) -> None:
    """DM, DS, EX, AE, TU, TR, RS as CSV and XPT v5, with define.xml 2.1."""
    with service_transaction() as session:
        actor = actor_for(session, user, unblinded=unblinded)
        trial_id = trials.find_trial(session, trial).id
        export = sdtm_export(session=session, actor=actor, trial_id=trial_id, unblinded=unblinded)
    out.mkdir(parents=True, exist_ok=True)
    for domain in export.domains:
        write_domain(domain, out)
    (out / "define.xml").write_bytes(export.define)
    typer.echo(
        "wrote "
        + ", ".join(f"{d.name} ({len(d.rows)} rows)" for d in export.domains)
        + f" and define.xml to {out}"
    )
    for finding in export.findings:
        typer.echo(f"SDTMIG check: {finding}", err=True)


@app.command("odm")
def odm(
    out: Path = typer.Option(..., "--out", help="The ODM XML file to write."),
    trial: str = typer.Option("SOR", "--trial", "-t", help="Trial acronym."),
    metadata: bool = typer.Option(
        False, "--metadata", help="Only the study metadata, generated from the form definitions."
    ),
) -> None:
    """The latest captured records of every randomised patient as CDISC ODM 1.3.2 XML, with the
    study metadata (forms, items, code lists) generated from the protocol's form definitions."""
    if out.is_dir():
        fail(f"--out {out} is a directory: give a file name such as {out / 'sor-odm.xml'}")
    with service_transaction() as session:
        actor = actor_for(session, None, unblinded=False)
        trial_id = trials.find_trial(session, trial).id
        export = odm_metadata_xml if metadata else odm_xml
        document = export(session=session, actor=actor, trial_id=trial_id)
    out.write_bytes(document)
    typer.echo(f"wrote {out} ({len(document)} bytes)")
