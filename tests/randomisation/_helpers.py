"""Shared test helpers for randomisation: fixed seeds, small specs, a predictability observer."""

from __future__ import annotations

from collections.abc import Sequence

from trialkit.randomisation import AllocationSpec, Factor

SEED = bytes.fromhex("5e" * 32)
OTHER_SEED = bytes.fromhex("a7" * 32)


def small_spec(
    *,
    ratio: tuple[int, ...] = (1, 1),
    block_sizes: tuple[int, ...] = (2, 4),
    slots: int = 40,
    factors: tuple[Factor, ...] = (Factor("country", ("DE", "IT")),),
) -> AllocationSpec:
    arms = tuple("ABCDE"[: len(ratio)])
    return AllocationSpec(arms, ratio, block_sizes, factors, slots, "TEST")


def predictable_positions(arms: Sequence[str], quotas: dict[int, dict[str, int]]) -> list[bool]:
    """For each position, whether an observer could name its arm from the arms before it.

    The observer knows the ratio and the set of block sizes (``quotas``: block size ->
    arm -> count) but not where blocks start or which size each has. It tracks every
    block-state consistent with the history: ``None`` (at a block boundary) or
    ``(size, counts so far)``. The next arm is predictable when only one arm can come
    next in every consistent state.
    """
    names = sorted({a for q in quotas.values() for a in q})
    states: set[tuple[int, tuple[int, ...]] | None] = {None}
    out = []
    for arm in arms:
        possible: set[str] = set()
        for state in states:
            if state is None:
                possible.update(names)
            else:
                size, counts = state
                possible.update(n for i, n in enumerate(names) if counts[i] < quotas[size][n])
        out.append(len(possible) == 1)
        nxt: set[tuple[int, tuple[int, ...]] | None] = set()
        k = names.index(arm)
        for state in states:
            options = [(s, tuple(0 for _ in names)) for s in quotas] if state is None else [state]
            for size, counts in options:
                if counts[k] >= quotas[size][arm]:
                    continue
                new = tuple(c + (i == k) for i, c in enumerate(counts))
                nxt.add(None if sum(new) == size else (size, new))
        states = nxt
    return out
