"""``trialkit simulate``: Monte Carlo operating characteristics of a protocol's trial.

Thin adapter: parses options into :func:`~trialkit.simulate.scenario.scenario_from_protocol`,
runs :func:`~trialkit.simulate.engine.simulate` (threads, or Dask with ``--cluster``),
prints a summary or one JSON object, writes the ``--dump-trial`` CSV and the ``--plot``.
Every check is the core's; its errors name a parameter, which becomes the flag here. Bad
input: exit code 2 and one line on stderr.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trialkit.cli._common import fail, print_json
from trialkit.errors import DesignInputError, TrialkitError

if TYPE_CHECKING:  # the engine (numpy, numba) is imported when a simulation runs, not for --help
    from trialkit.simulate.dump import DumpedTrial
    from trialkit.simulate.engine import Runner
    from trialkit.simulate.scenario import Scenario

__all__ = ["flag_of", "parse_grid", "simulate_command"]

#: runs at least this long (in trials) show a progress bar when stdout is a terminal
PROGRESS_MIN_TRIALS = 100_000
_GRID = re.compile(r"^hr=([^:]+):([^:]+):([^:]+)$")
#: the core's parameter names whose flag is not ``--`` + the name with dashes
_FLAGS = {
    "accrual_rates": "--accrual-rate",
    "runner": "--cluster",
    "design.allocation_ratio": "--protocol",
}
#: the core's parameters written with an underscore, named by their flag in its messages
_NAMED = (
    "median_control", "median_treatment", "hazards_control", "hazards_treatment", "pfs_breaks",
    "accrual_time", "accrual_rates", "accrual_breaks", "dropout_rate", "dropout_time",
    "decision_hr", "information_rates", "host_draws", "dump_trial",
)  # fmt: skip
_PARAMETER = re.compile(r"\b(" + "|".join(_NAMED) + r")\b")


def flag_of(parameter: str) -> str:
    """The option that sets the core's ``parameter``."""
    return _FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


@contextmanager
def _as_flags() -> Iterator[None]:
    """The core's errors as one line naming the flags (exit code 2, never a traceback)."""
    try:
        yield
    except TrialkitError as exc:
        message = _PARAMETER.sub(lambda m: flag_of(m.group(0)), exc.message)
        fail(f"{flag_of(exc.location)}: {message}" if exc.location else message)


def parse_grid(text: str) -> tuple[float, ...]:
    """``hr=START:STOP:STEP`` (inclusive) as hazard ratios (the core checks the values)."""
    from trialkit.simulate.scenario import hazard_ratio_grid

    m = _GRID.match(text.strip())
    bad = f"must look like hr=0.5:1.0:0.05 (start:stop:step); you gave {text!r}"
    if m is None:
        raise DesignInputError(bad, location="grid")
    try:
        start, stop, step = (float(v) for v in m.groups())
    except ValueError:
        raise DesignInputError(bad, location="grid") from None
    return hazard_ratio_grid(start, stop, step)


def _floats(text: str | None, parameter: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DesignInputError(
            f"must be comma-separated numbers like 0.5,1; you gave {text!r}", location=parameter
        ) from None


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("simulating trials", total=total)
        yield lambda done: bar.advance(task, done)


def _runner(cluster: str | None) -> AbstractContextManager[Runner | None]:
    if cluster is None:
        return nullcontext(None)
    from trialkit.simulate.cluster import dask_runner

    return dask_runner(None if cluster == "local" else cluster)


def _write_dump(dumped: DumpedTrial, path: Path) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(
                ["patient", "arm", "entry_time", "pfs_time", "dropout_time", "time", "event"]
            )
            for p in dumped.patients:
                drop = "" if p.dropout_time is None else repr(p.dropout_time)
                row = [p.patient, p.arm, repr(p.entry_time), repr(p.pfs_time), drop]
                out.writerow([*row, repr(p.time), int(p.event)])
    except OSError as exc:
        raise DesignInputError(
            f"cannot write the file {path}: {exc}", location="dump_trial"
        ) from exc


def simulate_command(
    protocol: Annotated[str, typer.Option("--protocol", help="Bundled name or file.")] = "sor",
    trials: Annotated[int, typer.Option("--trials", help="Trials to simulate.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the whole run.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    median_control: Annotated[float | None, typer.Option(help="Control median (months).")] = None,
    median_treatment: Annotated[
        float | None, typer.Option(help="Treatment median (months).")
    ] = None,
    hr: Annotated[float | None, typer.Option("--hr", help="True hazard ratio.")] = None,
    hazards_control: Annotated[
        str | None, typer.Option(help="Piecewise control hazards per month, e.g. 0.1,0.05.")
    ] = None,
    hazards_treatment: Annotated[
        str | None,
        typer.Option(help="Piecewise treatment hazards (non-proportional), e.g. 0.1,0.03."),
    ] = None,
    pfs_breaks: Annotated[
        str | None, typer.Option(help="Months where the PFS hazards change, e.g. 6.")
    ] = None,
    n: Annotated[int | None, typer.Option("--n", help="Patients.")] = None,
    events: Annotated[int | None, typer.Option(help="Events at the final analysis.")] = None,
    accrual_time: Annotated[float | None, typer.Option(help="Uniform accrual months.")] = None,
    accrual_rate: Annotated[
        str | None, typer.Option(help="Patients per month, e.g. 10 or 5,15.")
    ] = None,
    accrual_breaks: Annotated[
        str | None, typer.Option(help="Months where the accrual rate changes.")
    ] = None,
    dropout_rate: Annotated[float, typer.Option(help="Dropout probability by --dropout-time.")] = (
        0.0
    ),
    dropout_time: Annotated[float, typer.Option(help="Months for --dropout-rate.")] = 12.0,
    decision_hr: Annotated[float | None, typer.Option(help="Decision threshold (HR).")] = None,
    alpha: Annotated[float | None, typer.Option(help="One-sided log-rank level.")] = None,
    information_rates: Annotated[
        str | None, typer.Option(help="Looks, e.g. 0.5,0.75,1 (group-sequential).")
    ] = None,
    spending: Annotated[
        str | None, typer.Option(help="Alpha spending: obrien-fleming or pocock.")
    ] = None,
    allocation: Annotated[str, typer.Option(help="simple or blocks.")] = "blocks",
    entry: Annotated[
        str, typer.Option(help="random (Poisson given n) or fixed (rpact's grid).")
    ] = "random",
    ties: Annotated[str, typer.Option(help="Cox ties: efron or breslow.")] = "efron",
    backend: Annotated[
        str,
        typer.Option(
            help="numba (default: the compiled kernel on the CPU), cuda (the same kernel, one "
            "NVIDIA GPU thread per trial) or numpy (the reference)."
        ),
    ] = "numba",
    workers: Annotated[int | None, typer.Option(help="Threads (default: all CPUs).")] = None,
    host_draws: Annotated[
        bool,
        typer.Option(
            "--host-draws",
            help="Draw on the host and copy the draws in (the same trials): a check of a backend.",
        ),
    ] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Dask: 'local' (a LocalCluster of 2 workers) or a scheduler tcp://HOST:PORT.",
        ),
    ] = None,
    dump_trial: Annotated[
        tuple[int, Path] | None,
        typer.Option(help="K FILE.csv: patient data of trial K (0-based) at its analysis."),
    ] = None,
    grid: Annotated[
        str | None, typer.Option(help="Operating characteristics over hr=START:STOP:STEP.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Power curve of --grid: FILE.png|svg.")] = None,
) -> None:
    """Simulate whole trials of a protocol: decision rule, log-rank power, analysis time."""
    if plot is not None and grid is None:
        fail("--plot draws the power curve of a --grid; add e.g. --grid hr=0.5:1.0:0.05")
    from trialkit.protocol import load_protocol
    from trialkit.simulate.engine import simulate
    from trialkit.simulate.scenario import check_run, scenario_from_protocol

    with _as_flags():
        check_run(trials, seed)
        scenario = scenario_from_protocol(
            load_protocol(protocol),
            median_control=median_control,
            median_treatment=median_treatment,
            hr=hr,
            hazards_control=_floats(hazards_control, "hazards_control"),
            hazards_treatment=_floats(hazards_treatment, "hazards_treatment"),
            pfs_breaks=_floats(pfs_breaks, "pfs_breaks") or (),
            n=n,
            events=events,
            accrual_time=accrual_time,
            accrual_rates=_floats(accrual_rate, "accrual_rates"),
            accrual_breaks=_floats(accrual_breaks, "accrual_breaks") or (),
            dropout_rate=dropout_rate,
            dropout_time=dropout_time,
            decision_hr=decision_hr,
            alpha=alpha,
            information_rates=_floats(information_rates, "information_rates"),
            spending=spending,
            allocation=allocation,
            entry=entry,
            ties=ties,
        )
        hrs = parse_grid(grid) if grid is not None else None
        show = not as_json and sys.stdout.isatty() and trials >= PROGRESS_MIN_TRIALS
        with _runner(cluster) as runner:
            if hrs is not None:
                _grid(scenario, hrs, trials, seed, backend, workers, runner, as_json, plot, show,
                      host_draws)  # fmt: skip
                return
            with _progress(trials, show) as tick:
                result = simulate(
                    scenario, trials, seed, backend=backend, workers=workers, runner=runner,
                    progress=tick, host_draws=host_draws,
                )  # fmt: skip
        out = result.to_dict()
        if dump_trial is not None:
            from trialkit.simulate.dump import dump_trial as dump

            trial, path = dump_trial
            dumped = dump(scenario, trials, seed, trial, backend=backend, host_draws=host_draws)
            _write_dump(dumped, path)
            out["dumped_trial"] = {**dumped.to_dict(), "file": str(path)}
    if as_json:
        print_json(out)
        return
    typer.echo(result.summary())
    if dump_trial is not None:
        typer.echo(f"trial {dump_trial[0]} written to {dump_trial[1]}")


def _grid(
    scenario: Scenario,
    hrs: tuple[float, ...],
    trials: int,
    seed: int,
    backend: str,
    workers: int | None,
    runner: Runner | None,
    as_json: bool,
    plot: Path | None,
    show: bool,
    host_draws: bool = False,
) -> None:
    from trialkit.simulate.engine import simulate

    rows = []
    with _progress(trials * len(hrs), show) as tick:
        # the same seed for every HR: common random numbers make the curve smooth
        for value in hrs:
            res = simulate(
                scenario.with_hazard_ratio(value), trials, seed, backend=backend,
                workers=workers, runner=runner, progress=tick, host_draws=host_draws,
            )  # fmt: skip
            rows.append(
                {
                    "hr": value,
                    "reject_rate": res.reject_rate,
                    "logrank_reject_rate": res.logrank_reject_rate,
                    "mc_standard_error": res.mc_standard_error["reject_rate"],
                    "mean_analysis_time": res.mean_analysis_time,
                    "mean_events": res.mean_events,
                    "elapsed_seconds": res.elapsed_seconds,
                }
            )
    if plot is not None:
        from trialkit.report.simulation_plots import plot_simulated_power

        plot_simulated_power(
            [r["hr"] for r in rows],
            [r["reject_rate"] for r in rows],
            [r["logrank_reject_rate"] for r in rows],
            [r["mc_standard_error"] for r in rows],
            plot,
            title=f"{trials} simulated trials per HR ({scenario.events} events)",
        )
    if as_json:
        print_json({"trials": trials, "seed": seed, "backend": backend, "grid": rows})
        return
    typer.echo(f"{'HR':>6} {'decision':>9} {'log-rank':>9} {'MC SE':>7} {'time':>7}")
    for r in rows:
        typer.echo(
            f"{r['hr']:>6.3f} {r['reject_rate']:>9.4f} {r['logrank_reject_rate']:>9.4f} "
            f"{r['mc_standard_error']:>7.4f} {r['mean_analysis_time']:>7.2f}"
        )
