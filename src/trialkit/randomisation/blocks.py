"""Permuted blocks with randomly varying block sizes.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.blocks`.

References
----------
.. [1] ICH E9. Statistical principles for clinical trials, section 2.3.1 (randomisation,
   blocks, block length concealed from investigators). 1998.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and Practice,
   2nd ed., sections 3.6 (random allocation rule, permuted blocks) and 3.11 (random
   block sizes). Wiley, 2016.
.. [3] Zhao W, Weng Y. Block urn design - a new randomization algorithm for sequential
   trials with two or more treatments and balanced or unbalanced allocation.
   Contemporary Clinical Trials 32(6):953-961, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.randomisation.spec import AllocationSpec
from trialkit.randomisation.stream import SeedStream

__all__ = ["Block", "draw_block", "draw_blocks"]


@dataclass(frozen=True)
class Block:
    """One permuted block: its size and its assignments in order."""

    size: int
    arms: tuple[str, ...]


def draw_block(stream: SeedStream, spec: AllocationSpec) -> Block:
    """Draw the next block (size, then order) from ``stream``."""
    size = spec.block_sizes[stream.below(len(spec.block_sizes))]
    per_unit = size // sum(spec.ratio)
    arms = [
        arm
        for arm, weight in zip(spec.arms, spec.ratio, strict=True)
        for _ in range(per_unit * weight)
    ]
    stream.shuffle(arms)
    return Block(size, tuple(arms))


def draw_blocks(stream: SeedStream, spec: AllocationSpec, min_slots: int) -> list[Block]:
    """Whole blocks from ``stream`` until they hold at least ``min_slots`` assignments."""
    blocks: list[Block] = []
    total = 0
    while total < min_slots:
        block = draw_block(stream, spec)
        blocks.append(block)
        total += block.size
    return blocks
