"""The standard two-arm time-to-event analysis: KM per arm, log-rank and Cox.

One call gathers what a trial report (and ``trialkit analyze survival``) shows for
a randomised comparison, so that every front end computes it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trialkit.analysis._data import check_strata, check_time_event, two_groups
from trialkit.analysis.cox import CoxPH, Ties, coxph
from trialkit.analysis.kaplan_meier import ConfType, KaplanMeier, kaplan_meier
from trialkit.analysis.logrank import LogrankResult, logrank_test

__all__ = ["TwoArmSurvival", "two_arm_survival"]


@dataclass(frozen=True, slots=True)
class TwoArmSurvival:
    """KM curves per arm, (stratified) log-rank and (stratified) Cox for other vs reference."""

    n: int
    events: int
    reference: str
    other: str
    curves: dict[str, KaplanMeier]
    logrank: LogrankResult
    stratified_logrank: LogrankResult | None
    cox: CoxPH
    stratified_cox: CoxPH | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (the ``trialkit analyze survival --json`` contract)."""

        def test(r: LogrankResult | None) -> dict[str, Any] | None:
            return None if r is None else {"chisq": r.chisq, "df": r.df, "p": r.p}

        def cox(c: CoxPH) -> dict[str, Any]:
            return {
                "coef": float(c.coef[0]),
                "se": float(c.se[0]),
                "hr": float(c.hr[0]),
                "hr_ci": [float(c.hr_lower[0]), float(c.hr_upper[0])],
            }

        groups = {}
        for level in (self.reference, self.other):
            km = self.curves[level]
            med = km.median
            groups[level] = {
                "n": km.n,
                "events": km.events,
                "median": med.estimate,
                "median_ci": [med.lower, med.upper],
            }
        c = self.cox
        return {
            "n": self.n,
            "events": self.events,
            "groups": groups,
            "logrank": test(self.logrank),
            "stratified_logrank": test(self.stratified_logrank),
            "cox": {
                **cox(c),
                "p": float(c.p[0]),
                "wald": c.wald.statistic,
                "lrt": c.lrt.statistic,
                "score": c.score.statistic,
                "ties": c.ties,
            },
            "stratified_cox": None if self.stratified_cox is None else cox(self.stratified_cox),
        }

    def summary(self) -> str:
        """All parts' summaries, one after the other."""
        parts: list[str] = [f"{level}: {km.summary()}" for level, km in self.curves.items()]
        parts.append(self.logrank.summary())
        if self.stratified_logrank is not None:
            parts.append(self.stratified_logrank.summary())
        parts.append(self.cox.summary())
        if self.stratified_cox is not None:
            parts.append(self.stratified_cox.summary())
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.summary()


def two_arm_survival(
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    group: npt.ArrayLike,
    reference: str,
    *,
    strata: npt.ArrayLike | None = None,
    ties: Ties = "efron",
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
    names: tuple[str, str, str, str] = ("time", "event", "group", "strata"),
) -> TwoArmSurvival:
    """Analyse a two-arm randomised comparison of a time-to-event endpoint.

    Parameters
    ----------
    time, event, group, reference, strata
        As in :func:`~trialkit.analysis.logrank_test`; ``strata`` adds the stratified
        log-rank test and the stratified Cox model.
    ties, conf_type, conf_level
        Cox tie handling, KM confidence band transform and level.
    names
        Column names used in error messages (time, event, group, strata).
    """
    t, e = check_time_event(time, event, time_name=names[0], event_name=names[1])
    arms = two_groups(group, reference, n=t.size, group_name=names[2])
    codes = check_strata(strata, n=t.size, strata_name=names[3])
    is_other = arms.indicator == 1
    curves = {
        level: kaplan_meier(t[mask], e[mask], conf_type=conf_type, conf_level=conf_level)
        for level, mask in ((arms.reference, ~is_other), (arms.other, is_other))
    }
    labels = np.where(is_other, arms.other, arms.reference)

    def cox(s: npt.NDArray[np.int64] | None) -> CoxPH:
        return coxph(
            t, e, arms.indicator, names=(arms.other,), strata=s, ties=ties, conf_level=conf_level
        )

    return TwoArmSurvival(
        n=int(t.size),
        events=int(e.sum()),
        reference=arms.reference,
        other=arms.other,
        curves=curves,
        logrank=logrank_test(t, e, labels, arms.reference),
        stratified_logrank=None
        if codes is None
        else logrank_test(t, e, labels, arms.reference, strata=codes),
        cox=cox(None),
        stratified_cox=None if codes is None else cox(codes),
    )
