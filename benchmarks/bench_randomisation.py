"""Speed of the pure randomisation core: list generation, verification, minimisation.

Usage::

    .venv/bin/python benchmarks/bench_randomisation.py [--strata 12] [--slots 500] [--repeats 5]

- **List generation**: 12 strata x 500 slots (blocks of 2 and 4) with trialkit's
  documented HMAC-SHA256 construction, against a peer measured in the same run: the
  same permuted blocks drawn with numpy's PCG64 seeded by
  ``SeedSequence(entropy, spawn_key=(stratum,))`` (the usual numpy construction, which
  trialkit does not use because numpy does not promise that ``Generator`` methods give the
  same numbers across releases). Ratio = trialkit / numpy.
- **Verification**: regenerating the list and comparing it slot by slot.
- **Minimisation**: Pocock-Simon over SOR's factors (3 therapy groups x 4 countries, range,
  p = 0.8), assignments per second over 220-patient trials, against simple randomisation
  with the same generator (the floor: one random draw per patient).

Each time is the best of ``--repeats`` runs. Not a test: tests never assert on wall-clock time.
The HTTP benchmark (32 concurrent clients on PostgreSQL) comes with the service.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from trialkit.protocol import load_protocol
from trialkit.randomisation import (
    AllocationSpec,
    MinimisationState,
    allocation_spec,
    generate_allocation_list,
    minimisation_config,
    minimise,
    verify,
)

SEED = bytes(range(32))


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_blocks(seed: bytes, spec: AllocationSpec) -> list[str]:
    """The peer: permuted blocks from numpy PCG64 streams spawned per stratum."""
    entropy = int.from_bytes(seed, "big")
    out: list[str] = []
    base = [a for a, r in zip(spec.arms, spec.ratio, strict=True) for _ in range(r)]
    for stratum in spec.strata:
        rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(stratum.index,)))
        )
        n = 0
        while n < spec.slots_per_stratum:
            size = spec.block_sizes[int(rng.integers(len(spec.block_sizes)))]
            block = base * (size // len(base))
            out += [block[i] for i in rng.permutation(size)]
            n += size
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=500, help="slots per stratum")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20, help="220-patient minimisation trials")
    args = parser.parse_args()

    protocol = load_protocol("sor")
    base = allocation_spec(protocol)
    spec = AllocationSpec(
        base.arms, base.ratio, base.block_sizes, base.factors, args.slots, base.protocol_id
    )
    allocation = generate_allocation_list(SEED, spec)
    n_slots = len(allocation.slots)
    ours = best_of(args.repeats, lambda: generate_allocation_list(SEED, spec))
    peer = best_of(args.repeats, lambda: numpy_blocks(SEED, spec))
    check = best_of(args.repeats, lambda: verify(SEED, spec, allocation.slots))
    print(f"allocation list: {len(spec.strata)} strata x {args.slots} slots ({n_slots} slots)")
    print(f"  generate (HMAC-SHA256, trialkit)  {ours * 1e3:8.1f} ms")
    print(f"  generate (numpy PCG64 peer)       {peer * 1e3:8.1f} ms   ratio {ours / peer:.2f}")
    print(f"  verify (regenerate + compare)     {check * 1e3:8.1f} ms")

    config = minimisation_config(protocol)
    therapy, country = config.factors
    rng = np.random.default_rng(1)
    patients = [
        [
            {
                "background_therapy": therapy.levels[int(rng.integers(3))],
                "country": country.levels[int(rng.integers(4))],
            }
            for _ in range(220)
        ]
        for _ in range(args.trials)
    ]

    def run_minimisation() -> None:
        draw = np.random.default_rng(2)
        for trial in patients:
            state = MinimisationState.empty(config)
            for factors in trial:
                state = state.with_assignment(factors, minimise(state, factors, draw))

    def run_simple() -> None:
        draw = np.random.default_rng(2)
        for trial in patients:
            state = MinimisationState.empty(config)
            for factors in trial:
                state = state.with_assignment(factors, config.arms[int(draw.integers(2))])

    n = 220 * args.trials
    t_min = best_of(args.repeats, run_minimisation)
    t_simple = best_of(args.repeats, run_simple)
    print(f"minimisation: {args.trials} trials x 220 patients, SOR factors, range, p = 0.8")
    print(
        f"  Pocock-Simon         {n / t_min:10,.0f} assignments/s ({t_min / n * 1e6:.0f} us each)"
    )
    print(
        f"  simple randomisation {n / t_simple:10,.0f} assignments/s "
        f"(same state updates; ratio minimisation/simple time {t_min / t_simple:.2f})"
    )


if __name__ == "__main__":
    main()
