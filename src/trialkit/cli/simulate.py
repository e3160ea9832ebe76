"""``trialkit simulate``: Monte Carlo operating characteristics of a protocol's trial.

Thin adapter: parses options into a :class:`~trialkit.simulate.scenario.Scenario`,
runs :func:`~trialkit.simulate.engine.simulate` (threads, or Dask with ``--cluster``),
prints a summary or one JSON object, writes the ``--dump-trial`` CSV and the
``--plot``. Bad input: exit code 2 and one line on stderr.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from trialkit.cli._common import fail, print_json, user_errors
from trialkit.errors import DesignInputError

if TYPE_CHECKING:  # the engine (numpy, numba) is imported when a simulation runs, not for --help
    from trialkit.protocol import Protocol
    from trialkit.simulate.engine import Backend, Runner
    from trialkit.simulate.scenario import Scenario

__all__ = ["parse_grid", "simulate_command"]

#: runs at least this long (in trials) show a progress bar when stdout is a terminal
PROGRESS_MIN_TRIALS = 100_000
_GRID = re.compile(r"^hr=([^:]+):([^:]+):([^:]+)$")


def parse_grid(text: str) -> list[float]:
    """``hr=START:STOP:STEP`` (inclusive) as a list of hazard ratios."""
    m = _GRID.match(text.strip())
    bad = f"--grid must look like hr=0.5:1.0:0.05 (start:stop:step); you gave {text!r}"
    if m is None:
        raise DesignInputError(bad)
    try:
        start, stop, step = (float(v) for v in m.groups())
    except ValueError:
        raise DesignInputError(bad) from None
    if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or start <= 0:
        raise DesignInputError(bad + "; start and step must be positive")
    if stop < start:
        raise DesignInputError(bad + "; stop must not be below start")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 200:
        raise DesignInputError(f"--grid gives {count} hazard ratios; use at most 200")
    return [round(start + k * step, 10) for k in range(count)]


def _floats(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise DesignInputError(
            f"{option} must be comma-separated numbers like 0.5,1; you gave {text!r}"
        ) from None


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Callable[[int], None] | None]:
    if not show:
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("simulating trials", total=total)
        yield lambda done: bar.advance(task, done)


def _runner(cluster: str | None) -> Any:
    if cluster is None:
        return nullcontext(None)
    from trialkit.simulate.cluster import dask_runner

    return dask_runner(None if cluster == "local" else cluster)


def _arm_label(protocol: Protocol, role: str) -> str:
    return next((arm.label for arm in protocol.arms if arm.role == role), role)


def _dump(
    scenario: Scenario,
    trials: int,
    seed: int,
    backend: Backend,
    trial: int,
    path: Path,
    host_draws: bool = False,
    labels: tuple[str, str] = ("treatment", "control"),
) -> dict[str, Any]:
    import numpy as np

    from trialkit.simulate.engine import LOGICAL_BATCH, batch_statistics, trial_data
    from trialkit.simulate.generate import TrialBatch
    from trialkit.simulate.kernels import observed_at

    index, row = divmod(trial, LOGICAL_BATCH)
    size = min(LOGICAL_BATCH, trials - index * LOGICAL_BATCH)
    if backend == "gpu":  # the GPU's own stream: regenerate the batch there
        from trialkit.simulate.gpu import device_trial_batch

        if not 0 <= trial < trials:
            raise DesignInputError(
                f"the trial to dump must be between 0 and {trials - 1} (0-based); you gave {trial}"
            )
        batch, stats = device_trial_batch(scenario, seed, index, size, on_host=host_draws)
        one = TrialBatch(
            entry=batch.entry[row : row + 1],
            pfs=batch.pfs[row : row + 1],
            dropout=batch.dropout[row : row + 1],
            treated=batch.treated[row : row + 1],
        )
        tau, events = float(stats[0][row, -1]), int(stats[1][row, -1])
    else:
        one, tau, events = trial_data(scenario, trials, seed, trial)
        stats = batch_statistics(scenario, seed, index, size, backend, host_draws=host_draws)
    follow, event = observed_at(one, np.array([tau]))
    o, e, v, log_hr = (float(s[row, -1]) for s in stats[2:])
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(
                ["patient", "arm", "entry_time", "pfs_time", "dropout_time", "time", "event"]
            )
            for i in range(scenario.n):
                if follow[0, i] < 0:  # randomised after the analysis cut: not analysed
                    continue
                out.writerow(
                    [
                        i + 1,
                        labels[0] if one.treated[0, i] else labels[1],
                        repr(float(one.entry[0, i])),
                        repr(float(one.pfs[0, i])),
                        repr(float(one.dropout[0, i])) if np.isfinite(one.dropout[0, i]) else "",
                        repr(float(follow[0, i])),
                        int(event[0, i]),
                    ]
                )
    except OSError as exc:
        raise DesignInputError(f"cannot write --dump-trial file {path}: {exc}") from exc
    z = (o - e) / math.sqrt(v) if v > 0 else float("nan")
    return {
        "trial": trial,
        "file": str(path),
        "analysis_time": tau,
        "events": events,
        "logrank_z": z,
        "logrank_chisq": z * z,
        "hr": math.exp(log_hr) if math.isfinite(log_hr) else None,
    }


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
    backend: Annotated[
        str,
        typer.Option(
            help="numba (default), numpy, gpu (CuPy, the 'gpu' extra, CUDA) or cuda "
            "(numba.cuda, one GPU thread per trial)."
        ),
    ] = "numba",
    workers: Annotated[int | None, typer.Option(help="Threads (default: all CPUs).")] = None,
    host_draws: Annotated[
        bool,
        typer.Option(
            "--host-draws",
            help="With --backend gpu or cuda: the CPU's random numbers, so results equal "
            "the CPU's.",
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
    if allocation not in ("simple", "blocks"):
        fail(f"--allocation must be simple or blocks; you gave {allocation!r}")
    if entry not in ("random", "fixed"):
        fail(f"--entry must be random or fixed; you gave {entry!r}")
    if spending is not None and spending not in ("obrien-fleming", "pocock"):
        fail(f"--spending must be obrien-fleming or pocock; you gave {spending!r}")
    if backend not in ("numba", "numpy", "gpu", "cuda"):
        fail(f"--backend must be numba, numpy, gpu or cuda; you gave {backend!r}")
    if (
        cluster is not None
        and cluster != "local"
        and (cluster.startswith("-") or ":" not in cluster)
    ):
        fail(
            f"--cluster got {cluster!r}: write --cluster local (2 local workers) or a "
            "scheduler address such as tcp://127.0.0.1:8786"
        )
    if host_draws and backend not in ("gpu", "cuda"):
        fail(
            "--host-draws applies to --backend gpu only (or cuda); the CPU backends always "
            "draw there"
        )
    if cluster is not None and backend in ("gpu", "cuda"):
        fail(
            f"--cluster spreads the CPU backends over Dask workers; --backend {backend} runs "
            "on one device: drop one of them"
        )
    if dump_trial is not None and backend == "cuda" and not host_draws:
        fail(
            "--dump-trial with --backend cuda needs --host-draws (the device's own draws "
            "stay on the device); add --host-draws or use another backend"
        )
    if plot is not None and grid is None:
        fail("--plot draws the power curve of a --grid; add e.g. --grid hr=0.5:1.0:0.05")
    from trialkit.protocol import load_protocol
    from trialkit.simulate.engine import simulate
    from trialkit.simulate.scenario import scenario_from_protocol

    with user_errors():
        loaded = load_protocol(protocol)
        # the dumped trial names each patient's arm as the protocol labels it
        labels = (_arm_label(loaded, "treatment"), _arm_label(loaded, "control"))
        scenario = scenario_from_protocol(
            loaded,
            median_control=median_control,
            median_treatment=median_treatment,
            hr=hr,
            hazards_control=_floats(hazards_control, "--hazards-control"),
            hazards_treatment=_floats(hazards_treatment, "--hazards-treatment"),
            pfs_breaks=_floats(pfs_breaks, "--pfs-breaks") or (),
            n=n,
            events=events,
            accrual_time=accrual_time,
            accrual_rates=_floats(accrual_rate, "--accrual-rate"),
            accrual_breaks=_floats(accrual_breaks, "--accrual-breaks") or (),
            dropout_rate=dropout_rate,
            dropout_time=dropout_time,
            decision_hr=decision_hr,
            alpha=alpha,
            information_rates=_floats(information_rates, "--information-rates"),
            spending=spending,  # type: ignore[arg-type]
            allocation=allocation,  # type: ignore[arg-type]
            entry=entry,  # type: ignore[arg-type]
        )
        hrs = parse_grid(grid) if grid is not None else None
        if trials < 1:
            raise DesignInputError(f"--trials must be at least 1; you gave {trials}")
        if seed < 0:
            raise DesignInputError(f"--seed must be a non-negative integer; you gave {seed}")
        if backend == "gpu":  # CuPy is imported only here, never on the CPU path
            from trialkit.simulate.gpu import load_cupy

            load_cupy()
        if backend == "cuda":  # numba.cuda is imported only here, never on the CPU path
            from trialkit.simulate.cuda_kernel import require_cuda

            require_cuda()
        show = not as_json and sys.stdout.isatty() and trials >= PROGRESS_MIN_TRIALS
        be: Backend = backend  # type: ignore[assignment]
        with _runner(cluster) as runner:
            if hrs is None:
                with _progress(trials, show) as tick:
                    result = simulate(
                        scenario, trials, seed, backend=be, workers=workers, runner=runner,
                        progress=tick, host_draws=host_draws,
                    )  # fmt: skip
                out = result.to_dict()
                if dump_trial is not None:
                    out["dumped_trial"] = _dump(
                        scenario, trials, seed, be, *dump_trial, host_draws, labels
                    )
                if as_json:
                    print_json(out)
                else:
                    typer.echo(result.summary())
                    if dump_trial is not None:
                        typer.echo(f"trial {dump_trial[0]} written to {dump_trial[1]}")
                return
            _grid(scenario, hrs, trials, seed, be, workers, runner, as_json, plot, show, host_draws)


def _grid(
    scenario: Scenario,
    hrs: list[float],
    trials: int,
    seed: int,
    backend: Backend,
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
