"""``trialkit audit``: verify the hash chain (and its signed anchors); anchor its head; export
the trail for an inspector; make the operator's anchor key."""

from __future__ import annotations

from pathlib import Path

import typer

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.cli._db import cli_settings, service_transaction
from trialkit.service.platform import anchors, audit

__all__ = ["app"]

app = typer.Typer(help="The audit trail.", no_args_is_help=True)
EXIT_BROKEN = 1


@app.command("verify")
def verify(
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    anchor_dir: Path | None = typer.Option(
        None, "--anchors", help="Also prove the chain against the signed anchors in this directory."
    ),
    key: Path | None = typer.Option(
        None,
        "--key",
        help="The operator's Ed25519 key (public or private PEM) for --anchors "
        "(default: TRIALKIT_AUDIT_ANCHOR_KEY).",
    ),
) -> None:
    """Walk the hash chain; exit 1 and name the first broken link (or broken anchor)."""
    public = None
    if anchor_dir is not None:
        key = key or cli_settings().audit_anchor_key
        if key is None:
            fail("--anchors needs --key (or TRIALKIT_AUDIT_ANCHOR_KEY): the operator's key")
        with user_errors():
            public = anchors.load_public_key(key)
    with service_transaction() as session:
        report = audit.verify_trail(session=session)
        anchored = None
        if anchor_dir is not None and public is not None:
            anchored = anchors.verify_anchors(session, anchor_dir, public)
    intact = report.intact and (anchored is None or anchored.intact)
    if as_json:
        result = report.as_dict()
        if anchored is not None:
            result["anchors"] = anchored.as_dict()
            result["intact"] = intact
        print_json(result)
    else:
        typer.echo(report.summary(), err=not report.intact)
        if anchored is not None:
            typer.echo(anchored.summary(), err=not anchored.intact)
    if not intact:
        raise typer.Exit(EXIT_BROKEN)


@app.command("anchor")
def anchor(
    reason: str = typer.Option("periodic anchor", "--reason", help="Why (kept in the anchor)."),
) -> None:
    """Sign the chain's head with TRIALKIT_AUDIT_ANCHOR_KEY into TRIALKIT_AUDIT_ANCHOR_DIR (run
    it from the operator's scheduler, e.g. hourly)."""
    settings = cli_settings()
    with user_errors():
        anchoring = anchors.Anchoring.from_paths(
            settings.audit_anchor_key, settings.audit_anchor_dir
        )
    if anchoring is None:
        fail("set TRIALKIT_AUDIT_ANCHOR_KEY and TRIALKIT_AUDIT_ANCHOR_DIR to anchor the chain")
    with service_transaction(settings) as session:
        path = anchors.anchor_now(session, anchoring, reason=reason)
    typer.echo(f"anchor written to {path}")


@app.command("keygen")
def keygen(
    out: Path = typer.Option(..., "--out", help="The new private key file (PEM, mode 0600)."),
) -> None:
    """Make an Ed25519 key (the operator's anchor key, or a person's data cut signing key)."""
    with user_errors():
        public = anchors.generate_key(out)
    typer.echo(f"key written to {out} (key id {anchors.key_id(public)})")


@app.command("export")
def export(
    output: Path = typer.Option(..., "--output", "-o", help="File to write ('-': stdout)."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv or json."),
) -> None:
    """Write the whole trail as CSV or JSON (JSON includes the verification report)."""
    if fmt not in ("csv", "json"):
        fail(f"--format must be csv or json, not {fmt!r}")
    with service_transaction() as session:
        text = audit.export_trail(session=session, fmt="json" if fmt == "json" else "csv")
    if str(output) == "-":
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"audit trail written to {output} ({fmt})", err=True)
