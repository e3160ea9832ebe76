"""``trialkit protocol``: show a protocol."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from trialkit.cli._common import print_json, user_errors
from trialkit.protocol import Protocol, load_protocol

__all__ = ["app", "render_protocol"]

app = typer.Typer(help="Show a protocol.", no_args_is_help=True)

ProtocolOption = typer.Option(
    "sor", "--protocol", "-p", help="Bundled protocol name or protocol file path."
)


@app.command("show")
def show(
    protocol: str = ProtocolOption,
    as_json: bool = typer.Option(
        False, "--json", help="Print the whole protocol as one JSON object."
    ),
) -> None:
    """Print the protocol overview."""
    with user_errors():
        loaded = load_protocol(protocol)
    if as_json:
        print_json(loaded.model_dump(mode="json"))
        return
    render_protocol(loaded, Console())


def render_protocol(p: Protocol, console: Console) -> None:
    """The protocol overview a newcomer reads first."""
    console.rule(f"[bold]{p.acronym}[/bold] - protocol {p.version}")
    console.print(" ".join(p.title.split()), highlight=False)
    console.print(
        f"\n[bold]Design[/bold]: {p.study_design}; {p.phase}; {p.allocation.blinding}-blind"
    )
    console.print(f"[bold]Condition[/bold]: {p.health_condition}")
    console.print(f"[bold]Countries[/bold]: {', '.join(c.name for c in p.countries)}")
    coordinating = p.coordinating_centre
    if coordinating is not None:
        console.print(f"[bold]Coordinating centre[/bold]: {coordinating.name}, {coordinating.city}")
    console.print(
        f"[bold]Sponsor[/bold]: {p.sponsor.name}; funders: {'; '.join(f.name for f in p.funders)}"
    )
    console.print(
        f"[bold]Enrolment[/bold]: {p.dates.first_enrolment} to {p.dates.final_enrolment}; "
        f"completion {p.dates.completion}"
    )
    ratio = ":".join(str(p.allocation.ratio[a.id]) for a in p.arms)
    arms = Table(title=f"Arms (allocation {ratio})", show_lines=False)
    for column in ("arm", "label", "regimen"):
        arms.add_column(column)
    for arm in p.arms:
        arms.add_row(arm.id, arm.label, arm.text)
    console.print(arms)
    if p.background_therapy is not None:
        therapy = Table(title="Background therapy")
        therapy.add_column("group")
        therapy.add_column("rule")
        for rule in p.background_therapy.rules:
            therapy.add_row(rule.label, " ".join(rule.text.split()))
        console.print(therapy)
    endpoints = Table(title="Endpoints")
    endpoints.add_column("endpoint")
    endpoints.add_column("role")
    endpoints.add_column("definition")
    for endpoint in p.endpoints:
        endpoints.add_row(endpoint.name, endpoint.role, " ".join(endpoint.text.split()))
    console.print(endpoints)
    if p.design is not None:
        d = p.design
        console.print(
            f"[bold]Design parameters[/bold]: {d.distribution} PFS, medians "
            f"{d.median_control:g} vs {d.median_treatment:g} {d.time_unit}; {d.patients} patients; "
            f"analysis at {d.events} events; "
            f"decision rule observed HR <= {d.decision_hr:g}"
        )
    top = p.eligibility.top_level()
    console.print(
        f"[bold]Eligibility[/bold]: {sum(c.kind == 'inclusion' for c in top)} inclusion and "
        f"{sum(c.kind == 'exclusion' for c in top)} exclusion criteria "
        f"({len(p.eligibility.criteria) - len(top)} sub-items)"
    )
