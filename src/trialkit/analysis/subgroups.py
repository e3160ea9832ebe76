r"""Treatment effect by subgroup: the hazard ratio within each level, and the interaction test.

Details and reasoning: docs/statistics.md, section `trialkit.analysis.subgroups`.

References
----------
Wang R, Lagakos SW, Ware JH, Hunter DJ, Drazen JM (2007). Statistics in medicine - reporting of
subgroup analyses in clinical trials. N Engl J Med 357:2189-2194.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from trialkit.analysis._data import check_time_event, two_groups
from trialkit.analysis.cox import Ties, coxph
from trialkit.errors import InputError

__all__ = ["SubgroupAnalysis", "SubgroupEffect", "subgroup_analysis"]


@dataclass(frozen=True, slots=True)
class SubgroupEffect:
    """One level: patients, events and the HR (``None`` where it cannot be estimated)."""

    level: str
    n: int
    events: int
    hr: float | None
    lower: float | None
    upper: float | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class SubgroupAnalysis:
    """HR per level of one subgrouping and the likelihood-ratio test of the interaction."""

    name: str
    reference: str
    other: str
    effects: tuple[SubgroupEffect, ...]
    lrt: float | None
    df: int
    p: float | None
    note: str = ""

    def summary(self) -> str:
        lines = [f"{self.name}: {self.other} vs {self.reference}"]
        for e in self.effects:
            hr = "n/a" if e.hr is None else f"{e.hr:.3f} ({e.lower:.3f}-{e.upper:.3f})"
            lines.append(f"  {e.level}: n={e.n}, events={e.events}, HR {hr}")
        p = "n/a" if self.p is None else f"{self.p:.4g}"
        lines.append(f"  interaction LRT chisq={self.lrt} df={self.df} p={p}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _effect(
    level: str,
    t: npt.NDArray[np.float64],
    e: npt.NDArray[np.bool_],
    arm: npt.NDArray[np.float64],
    ties: Ties,
    conf_level: float,
) -> SubgroupEffect:
    n, events = int(t.size), int(e.sum())
    if np.unique(arm).size < 2:
        return SubgroupEffect(level, n, events, None, None, None, "one arm only")
    if events == 0:
        return SubgroupEffect(level, n, events, None, None, None, "no events")
    try:
        fit = coxph(t, e, arm, ties=ties, conf_level=conf_level)
    except InputError as exc:
        return SubgroupEffect(level, n, events, None, None, None, str(exc))
    if not fit.converged or not np.isfinite(fit.hr_upper[0]):
        return SubgroupEffect(level, n, events, None, None, None, "no finite estimate")
    return SubgroupEffect(
        level, n, events, float(fit.hr[0]), float(fit.hr_lower[0]), float(fit.hr_upper[0])
    )


def subgroup_analysis(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    reference: str,
    subgroup: npt.ArrayLike,
    *,
    name: str = "subgroup",
    ties: Ties = "efron",
    conf_level: float = 0.95,
) -> SubgroupAnalysis:
    """Cox HR (other arm vs ``reference``) within each subgroup level, and the interaction LRT.

    Parameters
    ----------
    time, event, group, reference
        As in :func:`~trialkit.analysis.two_arm_survival`.
    subgroup
        One label per patient (e.g. background therapy, country).
    name
        The subgrouping's name, for the result and error messages.
    ties, conf_level
        Cox tie handling and the level of the HR intervals.

    Returns
    -------
    SubgroupAnalysis
        Levels in sorted order. The interaction test is ``None`` (with a note) when there is one
        level only, or when the interaction model cannot be fitted (an arm missing from a level,
        or a level without events).
    """
    t, e = check_time_event(time, event)
    arms = two_groups(group, reference, n=t.size)
    labels = np.asarray([str(v) for v in np.asarray(subgroup, dtype=object).ravel()])
    if labels.size != t.size:
        raise InputError(
            f"'{name}' has {labels.size} values but there are {t.size} subjects; "
            "give one subgroup label per subject",
            location=name,
        )
    levels = sorted(set(labels.tolist()))
    arm = arms.indicator
    effects = tuple(
        _effect(
            level, t[labels == level], e[labels == level], arm[labels == level], ties, conf_level
        )
        for level in levels
    )
    k = len(levels)
    if k < 2:
        return SubgroupAnalysis(
            name, arms.reference, arms.other, effects, None, 0, None, "one subgroup only"
        )
    dummies = np.column_stack([(labels == level).astype(float) for level in levels[1:]])
    main = np.column_stack([arm, dummies])
    full = np.column_stack([main, dummies * arm[:, None]])
    try:
        fit0 = coxph(t, e, main, ties=ties)
        fit1 = coxph(t, e, full, ties=ties)
    except InputError as exc:
        return SubgroupAnalysis(
            name, arms.reference, arms.other, effects, None, k - 1, None, str(exc)
        )
    if not (fit0.converged and fit1.converged):
        return SubgroupAnalysis(
            name, arms.reference, arms.other, effects, None, k - 1, None, "did not converge"
        )
    lrt = max(0.0, 2.0 * (fit1.loglik - fit0.loglik))
    p = float(stats.chi2.sf(lrt, k - 1))
    return SubgroupAnalysis(name, arms.reference, arms.other, effects, lrt, k - 1, p)
