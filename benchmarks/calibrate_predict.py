"""Calibration of trialkit's event prediction on SOR-like trials with a known truth.

Usage::

    .venv/bin/python benchmarks/calibrate_predict.py [--trials 500] [--sims 2000] [--seed 1]
        [--models auto exponential average] [--dropout 0.0]

For each model choice, simulates ``--trials`` trials (220 patients, 1:1, exponential PFS
with medians 7.9 and 12.2 months, uniform accrual over 22/11/2007 to 30/06/2010,
optional exponential dropout ``--dropout`` per year), cuts each at its 30th, 60th and
90th event, forecasts the date of event 120 from the blinded data at the cut, and
prints, per cut, how often the true date lies in the 90% prediction interval (target
85-95%), the median absolute and signed error of the predicted median date in days,
and the median width of the interval. Each model uses the same seed, so the same
trials. There is no peer measured in the same run: eventPred (R) is not installable
here; docs/performance.md compares with its published behaviour. Not a test.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from trialkit.predict import calibrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=["auto", "exponential", "average"])
    parser.add_argument("--dropout", type=float, default=0.0, help="dropout probability per year")
    args = parser.parse_args()
    print(
        f"{args.trials} SOR-like trials per model, {args.sims} simulations per forecast, "
        f"seed {args.seed}, dropout {args.dropout:g}/year"
    )
    for model in args.models:
        start = time.perf_counter()
        result = calibrate(
            np.random.default_rng(args.seed),
            trials=args.trials,
            n_sims=args.sims,
            model=model,
            dropout_per_year=args.dropout,
        )
        elapsed = time.perf_counter() - start
        forecasts = sum(c.trials for c in result.cuts)
        print(f"\nmodel {model}: {elapsed:.0f} s, {1000 * elapsed / forecasts:.0f} ms per forecast")
        print(result.summary(), flush=True)


if __name__ == "__main__":
    main()
