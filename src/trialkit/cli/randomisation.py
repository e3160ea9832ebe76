"""``trialkit randomisation``: seal a trial's lists, verify them, and generate lists from a seed.

Details and reasoning: docs/architecture.md, section `trialkit.cli.randomisation`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.cli._db import cli_actor, service_transaction
from trialkit.protocol import load_protocol
from trialkit.randomisation import (
    AllocationList,
    allocation_spec,
    generate_allocation_list,
    list_from_document,
    list_to_document,
    verify,
)
from trialkit.randomisation.stream import MIN_SEED_BYTES
from trialkit.service.platform.views import AllocationAuditView
from trialkit.service.randomisation import allocation, reports
from trialkit.service.trials.trials import find_trial

__all__ = ["app"]

EXIT_MISMATCH = 1

app = typer.Typer(
    help="Seal and verify a trial's allocation and kit lists; generate or verify list files.",
    no_args_is_help=True,
    add_completion=False,
)

_PROTOCOL = typer.Option("sor", "--protocol", "-p", help="Bundled protocol name or file path.")
_SEED = typer.Option(None, "--seed-hex", help="The sealed trial seed, in hexadecimal.")


def _seed(seed_hex: str | None) -> bytes:
    if seed_hex is None:
        fail(
            "no --seed-hex given: in a trial the service draws the seed from the operating "
            "system's CSPRNG and seals it with the list; pass --seed-hex only to reproduce a "
            "list for a test or an audit"
        )
    try:
        seed = bytes.fromhex(seed_hex.strip())
    except ValueError:
        fail("--seed-hex must be hexadecimal digits (for example 64 of them for 32 bytes)")
    if len(seed) < MIN_SEED_BYTES:
        fail(
            f"--seed-hex gives {len(seed)} bytes; a trial seed has at least {MIN_SEED_BYTES} "
            "(the service draws 32)"
        )
    return seed


@app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the list (JSON)."),
    protocol: str = _PROTOCOL,
    seed_hex: str | None = _SEED,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Generate the allocation list a seed gives (for tests and audits; the service seals it)."""
    seed = _seed(seed_hex)
    with user_errors():
        spec = allocation_spec(load_protocol(protocol))
        result = generate_allocation_list(seed, spec)
    try:
        out.write_text(json.dumps(list_to_document(result), indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write the list ({exc})")
    summary = {
        "protocol": result.protocol_id,
        "slots": len(result.slots),
        "strata": len(result.strata),
        "hash": result.hash,
        "out": str(out),
    }
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"generated: {len(result.slots)} slots, hash {result.hash} -> {out}")


def _read_list(path: Path) -> tuple[AllocationList, dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file; give the path of an allocation list JSON file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the file ({exc})")
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})")
    with user_errors():
        return list_from_document(document, source=str(path)), document


@app.command("seal")
def seal_command(
    trial: str = typer.Option(..., "--trial", help="Trial acronym, e.g. SOR."),
    kits: int = typer.Option(allocation.DEFAULT_KITS, "--kits", min=2, help="Kits in the depot."),
    kit_expiry: str | None = typer.Option(
        None, "--kit-expiry", help="Expiry date of the kits (ISO); default: a year after enrolment."
    ),
    slots_per_stratum: int | None = typer.Option(
        None, "--slots-per-stratum", min=1, help="Lengthen the list beyond the protocol's minimum."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Seal the trial's allocation and kit lists from a fresh CSPRNG seed (once per trial)."""
    try:
        expiry = dt.date.fromisoformat(kit_expiry) if kit_expiry else None
    except ValueError:
        fail(f"--kit-expiry must be an ISO date like 2011-06-30, got {kit_expiry!r}")
    with service_transaction() as session:
        view = allocation.seal(
            session=session,
            actor=cli_actor(),
            trial_id=find_trial(session, trial).id,
            kits=kits,
            kit_expiry=expiry,
            slots_per_stratum=slots_per_stratum,
        )
    if as_json:
        print_json(view.model_dump(mode="json"))
    else:
        typer.echo(
            f"sealed {trial}: {view.slots} slots in {view.strata} strata (sha256 "
            f"{view.list_hash}), {view.kits} kits (sha256 {view.kit_list_hash})"
        )


def _verify_trial(trial: str, as_json: bool) -> None:
    with service_transaction() as session:
        result = allocation.verify_sealed(
            session=session, actor=cli_actor(), trial_id=find_trial(session, trial).id
        )
    if as_json:
        print_json(result.model_dump(mode="json"))
    elif result.verified:
        typer.echo(
            f"verified: {trial}'s {result.slots} slots and {result.kits} kits are what the sealed "
            f"seed regenerates (sha256 {result.list_hash}, kits {result.kit_list_hash})"
        )
    else:
        typer.echo(f"NOT verified: {result.problem}")
    if not result.verified:
        raise typer.Exit(EXIT_MISMATCH)


@app.command("verify")
def verify_command(
    path: Path | None = typer.Argument(
        None, help="Allocation list (JSON); omit with --trial.", dir_okay=False
    ),
    trial: str | None = typer.Option(
        None, "--trial", help="Verify the trial's sealed lists in the database instead of a file."
    ),
    seed_hex: str | None = _SEED,
    protocol: str = _PROTOCOL,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Regenerate the list from the seed and prove it matches (exit 0) or name where not (1)."""
    if trial is not None:
        if path is not None or seed_hex is not None:
            fail("give either --trial (the sealed lists in the database) or a file and --seed-hex")
        _verify_trial(trial, as_json)
        return
    if path is None:
        fail("give an allocation list file and --seed-hex, or --trial ACRONYM for a sealed trial")
    seed = _seed(seed_hex)
    stored, document = _read_list(path)
    with user_errors():
        spec = allocation_spec(load_protocol(protocol))
    if stored.protocol_id and spec.protocol_id and stored.protocol_id != spec.protocol_id:
        fail(f"{path}: the list is for protocol {stored.protocol_id}, not {spec.protocol_id}")
    with user_errors():
        result = verify(seed, spec, stored.slots)
    recorded = document.get("hash")
    hash_ok = recorded is None or recorded == result.stored_hash
    verified = result.verified and hash_ok
    if as_json:
        difference = result.first_difference
        print_json(
            {
                "verified": verified,
                "slots": result.slots,
                "hash": result.stored_hash,
                "expected_hash": result.expected_hash,
                "recorded_hash": recorded,
                "first_difference": None
                if difference is None
                else {
                    "position": difference.position + 1,
                    "stratum": difference.stratum,
                    "sequence": difference.sequence,
                    "field": difference.field,
                    "stored": difference.stored,
                    "expected": difference.expected,
                },
            }
        )
    elif not result.verified:
        typer.echo(str(result))
    elif not hash_ok:
        typer.echo(
            f"NOT verified: the slots match the seed but the recorded hash {recorded} is not "
            f"their hash {result.stored_hash}"
        )
    else:
        typer.echo(str(result))
    if not verified:
        raise typer.Exit(EXIT_MISMATCH)


def _audit_text(view: AllocationAuditView) -> str:
    verdict = (
        "verified" if view.verification.verified else f"NOT verified: {view.verification.problem}"
    )
    lines = [
        f"allocation audit of {view.acronym}: list sha256 {view.list_hash}, "
        f"{view.extensions} extension(s); randomisation verify: {verdict}",
    ]
    for stratum in view.strata:
        lines.append(
            f"stratum {stratum.stratum}: {stratum.used} of {stratum.slots} slots used; gaps: "
            f"{', '.join(map(str, stratum.gaps)) or 'none'}; out of order: "
            f"{', '.join(map(str, stratum.out_of_order)) or 'none'}"
        )
        lines.append("sequence\tblock\tblock size\tarm\trandomisation number\textension\ttaken by")
        for slot in stratum.rows:
            taken = (
                f"{slot.screening_number} ({slot.site}) on {slot.randomised_on}"
                if slot.used
                else "unused"
            )
            lines.append(
                f"{slot.sequence}\t{slot.block}\t{slot.block_size}\t{slot.arm}\t"
                f"{slot.randomisation_number}\t{slot.extension or '-'}\t{taken}"
            )
    return "\n".join(lines)


@app.command("audit")
def audit_command(
    trial: str = typer.Option(..., "--trial", help="Trial acronym, e.g. SOR."),
    user: str | None = typer.Option(
        None, "--user", help="Act as this user: an unblinded statistician or DSMB member."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Every slot of the sealed list in order (block, arm, number, who took it), with the list's
    hash and the verification's verdict; exit 1 if the list does not verify or has gaps."""
    from trialkit.service.capture.outcomes import acting_user

    if user is None:
        fail("audit needs --user NAME: an unblinded statistician or DSMB member (it shows arms)")
    with service_transaction() as session:
        actor = acting_user(session=session, username=user, request_id=cli_actor().request_id)
        view = reports.allocation_audit(
            session=session, actor=actor, trial_id=find_trial(session, trial).id, output="cli"
        )
    if as_json:
        print_json(view.model_dump(mode="json"))
    else:
        typer.echo(_audit_text(view))
    if not view.verification.verified or any(s.gaps or s.out_of_order for s in view.strata):
        raise typer.Exit(EXIT_MISMATCH)
