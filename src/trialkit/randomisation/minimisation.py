r"""Pocock-Simon minimisation with a random element.

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.minimisation`.

References
----------
.. [1] Pocock SJ, Simon R. Sequential treatment assignment with balancing for prognostic
   factors in the controlled clinical trial. Biometrics 31(1):103-115, 1975.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and Practice,
   2nd ed., section 9.4 (covariate-adaptive randomisation, minimisation). Wiley, 2016.
.. [3] ICH E9. Statistical principles for clinical trials, section 2.3.2. 1998.
.. [4] Kuznetsova OM, Tymofyeyev Y. Preserving the allocation ratio at every allocation
   with biased coin randomization and minimization in studies with unequal allocation.
   Statistics in Medicine 31(8):701-723, 2012.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trialkit.errors import InputError, RandomisationError
from trialkit.protocol.model import Protocol
from trialkit.randomisation.spec import Factor, allocation_spec

__all__ = [
    "MinimisationConfig",
    "MinimisationDecision",
    "MinimisationState",
    "decide",
    "imbalance_scores",
    "minimisation_config",
    "minimise",
]

_TIE = 1e-12


@dataclass(frozen=True)
class MinimisationConfig:
    """Arms, ratio, factors (with levels) and weights, the preferred-arm probability, measure."""

    arms: tuple[str, ...]
    ratio: tuple[int, ...]
    factors: tuple[Factor, ...]
    weights: tuple[float, ...]
    p_preferred: float = 0.8
    measure: Literal["range", "variance"] = "range"

    def __post_init__(self) -> None:
        k = len(self.arms)
        if k < 2 or len(self.ratio) != k or any(r <= 0 for r in self.ratio):
            raise InputError("minimisation needs at least two arms, each with a positive weight")
        if not self.factors or len(self.weights) != len(self.factors):
            raise InputError("minimisation needs at least one factor, each with one weight")
        if any(w <= 0 for w in self.weights):
            raise InputError(f"factor weights must be positive, got {self.weights}")
        if not 1 / k < self.p_preferred < 1:
            raise InputError(
                f"p_preferred must be strictly between 1/{k} and 1 (got {self.p_preferred}): "
                f"at 1 the next assignment is predictable, at 1/{k} nothing is preferred"
            )
        if self.measure not in ("range", "variance"):
            raise InputError(f"measure must be range or variance, got {self.measure!r}")


def minimisation_config(protocol: Protocol) -> MinimisationConfig:
    """The minimisation settings of a protocol, over its stratification factors."""
    spec = allocation_spec(protocol)
    settings = protocol.allocation.minimisation
    if not spec.factors:
        raise InputError("minimisation needs allocation.strata (the factors to balance)")
    weights = settings.weights if settings is not None else {}
    return MinimisationConfig(
        arms=spec.arms,
        ratio=spec.ratio,
        factors=spec.factors,
        weights=tuple(float(weights.get(f.name, 1.0)) for f in spec.factors),
        p_preferred=settings.p_preferred if settings is not None else 0.8,
        measure=settings.measure if settings is not None else "range",
    )


Counts = tuple[tuple[tuple[int, ...], ...], ...]  # [factor][level][arm]


@dataclass(frozen=True)
class MinimisationState:
    """Marginal counts of earlier assignments: for each factor level, patients per arm."""

    config: MinimisationConfig
    counts: Counts

    @classmethod
    def empty(cls, config: MinimisationConfig) -> MinimisationState:
        row = len(config.arms) * (0,)
        return cls(config, tuple(len(f.levels) * (row,) for f in config.factors))

    @classmethod
    def from_counts(
        cls, config: MinimisationConfig, counts: Mapping[str, Mapping[str, Mapping[str, int]]]
    ) -> MinimisationState:
        """From ``{factor: {level: {arm: n}}}`` (missing entries are 0)."""
        table = tuple(
            tuple(
                tuple(int(counts.get(f.name, {}).get(level, {}).get(a, 0)) for a in config.arms)
                for level in f.levels
            )
            for f in config.factors
        )
        totals = {tuple(map(sum, zip(*levels, strict=True))) for levels in table}
        if len(totals) > 1:
            raise InputError(
                "every factor must count the same patients per arm; the totals differ: "
                + ", ".join(str(t) for t in sorted(totals))
            )
        return cls(config, table)

    def _levels(self, patient_factors: Mapping[str, str]) -> list[int]:
        out = []
        for factor in self.config.factors:
            level = patient_factors.get(factor.name)
            if level is None or level not in factor.levels:
                raise RandomisationError(
                    f"the patient's {factor.name} is {level!r}; minimisation needs one of "
                    f"{', '.join(factor.levels)}"
                )
            out.append(factor.levels.index(level))
        return out

    def with_assignment(self, patient_factors: Mapping[str, str], arm: str) -> MinimisationState:
        """The state after this patient is assigned to ``arm``."""
        k = self.config.arms.index(arm)
        levels = self._levels(patient_factors)
        counts = tuple(
            tuple(
                tuple(n + (li == levels[fi] and ai == k) for ai, n in enumerate(row))
                for li, row in enumerate(factor_rows)
            )
            for fi, factor_rows in enumerate(self.counts)
        )
        return MinimisationState(self.config, counts)

    @property
    def totals(self) -> dict[str, int]:
        """Patients assigned so far, per arm."""
        return {
            arm: sum(row[k] for row in self.counts[0]) for k, arm in enumerate(self.config.arms)
        }

    def marginal_imbalance(self) -> float:
        """The largest difference between two arms' (ratio-scaled) counts at any factor level."""
        ratio = self.config.ratio
        worst = 0.0
        for rows in self.counts:
            for row in rows:
                scaled = [n / r for n, r in zip(row, ratio, strict=True)]
                worst = max(worst, max(scaled) - min(scaled))
        return worst


def _spread(values: list[float], measure: str) -> float:
    if measure == "range":
        return max(values) - min(values)
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def imbalance_scores(
    state: MinimisationState, patient_factors: Mapping[str, str]
) -> dict[str, float]:
    """:math:`G_k` for every arm ``k``: the weighted imbalance if the patient went to ``k``."""
    config = state.config
    levels = state._levels(patient_factors)
    # plain Python: the rows have two to a few entries, where numpy's call overhead dominates
    rows = [state.counts[fi][levels[fi]] for fi in range(len(config.factors))]
    scores = {}
    for k, arm in enumerate(config.arms):
        total = 0.0
        for row, weight in zip(rows, config.weights, strict=True):
            scaled = [
                (n + (j == k)) / r for j, (n, r) in enumerate(zip(row, config.ratio, strict=True))
            ]
            total += weight * _spread(scaled, config.measure)
        scores[arm] = total
    return scores


@dataclass(frozen=True)
class MinimisationDecision:
    """One assignment with its reasons: scores, preferred arm(s), probabilities, the arm."""

    arm: str
    scores: tuple[tuple[str, float], ...]
    preferred: tuple[str, ...]
    probabilities: tuple[tuple[str, float], ...]

    def __str__(self) -> str:
        g = ", ".join(f"G_{a} = {s:g}" for a, s in self.scores)
        p = ", ".join(f"{a}: {q:.3f}" for a, q in self.probabilities)
        return f"{g}; preferred {'/'.join(self.preferred)}; P({p}); assigned {self.arm}"


def decide(
    state: MinimisationState, patient_factors: Mapping[str, str], rng: np.random.Generator
) -> MinimisationDecision:
    """Assign the patient and say why (see the module docstring for the rule)."""
    config = state.config
    scores = imbalance_scores(state, patient_factors)
    arms = config.arms
    best = min(scores.values())
    tied = tuple(a for a in arms if scores[a] - best <= _TIE)
    k = len(arms)
    if len(tied) == k:
        weights = np.asarray(config.ratio, dtype=float) / sum(config.ratio)
        probabilities = dict(zip(arms, weights.tolist(), strict=True))
        arm = arms[int(np.searchsorted(np.cumsum(weights), rng.random(), side="right"))]
    else:
        other = (1 - config.p_preferred) / (k - 1)
        share = config.p_preferred / len(tied) + (len(tied) - 1) / len(tied) * other
        probabilities = {a: share if a in tied else other for a in arms}
        preferred = tied[int(rng.integers(len(tied)))] if len(tied) > 1 else tied[0]
        if rng.random() < config.p_preferred:
            arm = preferred
        else:
            rest = [a for a in arms if a != preferred]
            arm = rest[int(rng.integers(len(rest)))]
    return MinimisationDecision(
        arm=arm,
        scores=tuple((a, scores[a]) for a in arms),
        preferred=tied,
        probabilities=tuple((a, probabilities[a]) for a in arms),
    )


def minimise(
    state: MinimisationState, patient_factors: Mapping[str, str], rng: np.random.Generator
) -> str:
    """The arm for the next patient by Pocock-Simon minimisation (never deterministic).

    Parameters
    ----------
    state
        Marginal counts of earlier assignments (and the configuration).
    patient_factors
        The patient's level of every factor, e.g. ``{"background_therapy": "endocrine",
        "country": "IT"}``.
    rng
        The random generator (seeded and recorded by the caller).
    """
    return decide(state, patient_factors, rng).arm
