"""RECIST 1.1: baseline edit checks and the response at each assessment.

Details and reasoning: docs/capture.md, section `trialkit.endpoints.recist`.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid tumours:
revised RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247 (sections 3-4, tables 1-2,
appendix II).
Schwartz LH, Litiere S, de Vries E, et al. RECIST 1.1 - Update and clarification: From the RECIST
committee. Eur J Cancer 2016;62:132-137.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from trialkit.endpoints.lesions import (
    Assessment,
    Baseline,
    LesionRecord,
    NewLesions,
    NonTargetStatus,
)
from trialkit.protocol.model import ResponseCriteria

__all__ = [
    "DEFAULT_CRITERIA",
    "BaselineResult",
    "Finding",
    "Response",
    "TargetResult",
    "TimePointResponse",
    "check_baseline",
    "evaluate_assessments",
    "non_target_response",
    "overall_response",
    "target_response",
]

Response = Literal["CR", "PR", "SD", "NON_CR_NON_PD", "PD", "NE", "NA"]
"""RECIST 1.1 responses; ``NA`` = not applicable (no target or no non-target disease)."""

DEFAULT_CRITERIA = ResponseCriteria(
    criteria="RECIST 1.1",
    max_targets=5,
    max_targets_per_organ=2,
    baseline_max_days_before_randomisation=28,
    min_sd_days=42,
    confirmation_required=False,
    min_confirmation_days=28,
    max_ne_between_confirmation=1,
    text="RECIST 1.1 defaults (Eisenhauer et al. 2009)",
)
"""RECIST 1.1 defaults, for use without a protocol."""

_EPS = 1e-9
_NODE_ORGAN = "lymph node"
# RECIST 1.1 section 3.2 and appendix II: smallest measurable longest diameter by method.
_MIN_LD_MM = {"CT": 10.0, "MRI": 10.0, "caliper": 10.0, "x-ray": 20.0}
_NODE_TARGET_MM = 15.0  # short axis: measurable (target-eligible) pathological node
_NODE_PATHOLOGICAL_MM = 10.0  # short axis: below this a node is normal


@dataclass(frozen=True)
class Finding:
    """A broken rule in the recorded data: where (JSON path), what (code) and a plain message.

    Findings become data queries to the site; they never stop the evaluation.
    """

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class BaselineResult:
    """The baseline sum of diameters and the edit-check findings."""

    sum_mm: float
    targets: int
    non_targets: int
    findings: tuple[Finding, ...]

    def __str__(self) -> str:
        lines = [
            f"baseline: {self.targets} target(s), sum {self.sum_mm:g} mm; "
            f"{self.non_targets} non-target(s)"
        ]
        lines += [f"  finding {f}" for f in self.findings]
        return "\n".join(lines)


def check_baseline(
    baseline: Baseline,
    criteria: ResponseCriteria = DEFAULT_CRITERIA,
    *,
    randomisation_date: date | None = None,
) -> BaselineResult:
    """Sum the baseline targets and check RECIST 1.1 baseline rules.

    Rules checked (RECIST 1.1 sections 3.2-3.3): at most ``max_targets`` targets and
    ``max_targets_per_organ`` per organ (all lymph nodes together are one organ, as are paired
    organs recorded under one name); a non-nodal target's longest diameter is >= 10 mm by CT, MRI
    or caliper (>= 20 mm by chest x-ray) and is measured by one of those methods; a nodal target's
    short axis is >= 15 mm (10 to < 15 mm: pathological, record it as a non-target; < 10 mm:
    normal, do not record it); lesion ids are unique; there is disease at baseline; the baseline
    is no later than randomisation and at most ``baseline_max_days_before_randomisation`` before.
    """
    findings: list[Finding] = []
    ids = [t.id for t in baseline.target] + [n.id for n in baseline.non_target]
    for lesion_id, count in Counter(ids).items():
        if count > 1:
            findings.append(
                Finding(
                    "baseline",
                    "duplicate_lesion_id",
                    f"lesion id {lesion_id!r} is used {count} times; give every lesion its own id",
                )
            )
    if not baseline.target and not baseline.non_target:
        findings.append(
            Finding(
                "baseline",
                "no_baseline_disease",
                "no target or non-target lesion at baseline; the patient has no evaluable disease",
            )
        )
    per_organ: Counter[str] = Counter()
    for k, lesion in enumerate(baseline.target):
        path = f"baseline.target[{k}]"
        if k >= criteria.max_targets:
            findings.append(
                Finding(
                    path,
                    "too_many_targets",
                    f"target {lesion.id} is number {k + 1}; at most {criteria.max_targets} "
                    "target lesions are allowed: record it as a non-target",
                )
            )
        organ = _NODE_ORGAN if lesion.lymph_node else lesion.organ.strip().lower()
        per_organ[organ] += 1
        if per_organ[organ] > criteria.max_targets_per_organ:
            findings.append(
                Finding(
                    path,
                    "too_many_targets_in_organ",
                    f"target {lesion.id} is target number {per_organ[organ]} in {organ}; at most "
                    f"{criteria.max_targets_per_organ} per organ: record it as a non-target",
                )
            )
        findings.extend(
            _measurability(path, lesion.id, lesion.lymph_node, lesion.diameter_mm, lesion.method)
        )
    for k, nt in enumerate(baseline.non_target):
        if nt.lymph_node and nt.diameter_mm is not None and nt.diameter_mm < _NODE_PATHOLOGICAL_MM:
            findings.append(
                Finding(
                    f"baseline.non_target[{k}].diameter_mm",
                    "node_not_pathological",
                    f"lymph node {nt.id} has a short axis of {nt.diameter_mm:g} mm (< 10 mm): "
                    "it is normal and is not recorded as a lesion",
                )
            )
    if randomisation_date is not None:
        days = (randomisation_date - baseline.date).days
        if days < 0:
            findings.append(
                Finding(
                    "baseline.date",
                    "baseline_after_randomisation",
                    f"baseline assessment on {baseline.date} is after randomisation "
                    f"({randomisation_date}); the baseline must precede randomisation",
                )
            )
        elif days > criteria.baseline_max_days_before_randomisation:
            findings.append(
                Finding(
                    "baseline.date",
                    "baseline_too_early",
                    f"baseline assessment is {days} days before randomisation; it must be at most "
                    f"{criteria.baseline_max_days_before_randomisation} days before",
                )
            )
    return BaselineResult(
        sum_mm=sum(t.diameter_mm for t in baseline.target),
        targets=len(baseline.target),
        non_targets=len(baseline.non_target),
        findings=tuple(findings),
    )


def _measurability(
    path: str, lesion_id: str, node: bool, diameter: float, method: str
) -> list[Finding]:
    if method not in _MIN_LD_MM:
        return [
            Finding(
                f"{path}.method",
                "method_not_measurable",
                f"target {lesion_id} is measured by {method}, which RECIST 1.1 does not accept "
                "for measurement: use CT, MRI, caliper or chest x-ray, or make it a non-target",
            )
        ]
    if node:
        if diameter >= _NODE_TARGET_MM:
            return []
        if diameter >= _NODE_PATHOLOGICAL_MM:
            message = (
                f"lymph node {lesion_id} has a short axis of {diameter:g} mm: a node of 10 to "
                "< 15 mm is pathological but not measurable; record it as a non-target"
            )
            return [Finding(f"{path}.diameter_mm", "node_not_measurable", message)]
        message = (
            f"lymph node {lesion_id} has a short axis of {diameter:g} mm (< 10 mm): it is normal "
            "and is not recorded as a lesion"
        )
        return [Finding(f"{path}.diameter_mm", "node_not_pathological", message)]
    minimum = _MIN_LD_MM[method]
    if diameter < minimum:
        message = (
            f"target {lesion_id} has a longest diameter of {diameter:g} mm; by {method} a "
            f"measurable lesion is >= {minimum:g} mm: record it as a non-target"
        )
        return [Finding(f"{path}.diameter_mm", "lesion_not_measurable", message)]
    return []


@dataclass(frozen=True)
class TargetResult:
    """The target-lesion response at one assessment, with the numbers behind it."""

    response: Response
    sum_mm: float | None
    """The sum of diameters; ``None`` when a target was not evaluated (unless already PD)."""
    change_from_baseline_pct: float | None
    change_from_nadir_pct: float | None
    nadir_mm: float | None
    """The nadir this assessment is compared with (before this assessment)."""


def _pct(value: float, reference: float) -> float | None:
    return None if reference <= 0 else 100.0 * (value - reference) / reference


def target_response(
    measurements: Sequence[tuple[bool, float | None]], *, baseline_sum: float, nadir: float
) -> TargetResult:
    """Target response from ``(is_lymph_node, mm or None if not evaluated)`` per target.

    Parameters
    ----------
    measurements
        One pair per baseline target, in any order. ``mm`` is 5 for "too small to measure" and
        0 when the lesion disappeared (RECIST 1.1 appendix II); ``None`` when not evaluated.
    baseline_sum
        The baseline sum of diameters (reference for PR).
    nadir
        The smallest sum so far, the baseline included (reference for PD).
    """
    if not measurements:
        return TargetResult("NA", None, None, None, None)
    measured = [mm for _, mm in measurements if mm is not None]
    partial = float(sum(measured))
    complete = len(measured) == len(measurements)
    increase = partial - nadir
    if increase >= 5.0 - _EPS and 5.0 * increase >= nadir - _EPS:
        # 20% and 5 mm above the nadir: PD, even if some targets were not evaluated, since the
        # missing ones can only add to the sum.
        return TargetResult("PD", partial, _pct(partial, baseline_sum), _pct(partial, nadir), nadir)
    if not complete:
        return TargetResult("NE", None, None, None, nadir)
    base_pct = _pct(partial, baseline_sum)
    nadir_pct = _pct(partial, nadir)
    # a node is normal below 10 mm short axis and keeps adding it to the sum (section 4.3.1)
    gone = [
        (mm < _NODE_PATHOLOGICAL_MM) if node else (mm == 0)
        for node, mm in measurements
        if mm is not None
    ]
    if all(gone):
        return TargetResult("CR", partial, base_pct, nadir_pct, nadir)
    if 10.0 * (baseline_sum - partial) >= 3.0 * baseline_sum - _EPS:
        return TargetResult("PR", partial, base_pct, nadir_pct, nadir)
    return TargetResult("SD", partial, base_pct, nadir_pct, nadir)


def non_target_response(statuses: Sequence[NonTargetStatus | None]) -> Response:
    """Non-target response: PD if any unequivocal progression, NE if any not evaluated, CR if
    every lesion is absent (nodes normal, < 10 mm), otherwise non-CR/non-PD; NA without any."""
    if not statuses:
        return "NA"
    if "unequivocal_progression" in statuses:
        return "PD"
    if None in statuses:
        return "NE"
    if all(s == "absent" for s in statuses):
        return "CR"
    return "NON_CR_NON_PD"


def overall_response(target: Response, non_target: Response, new_lesions: NewLesions) -> Response:
    """Overall response at one time point by RECIST 1.1 table 1 (targets) or table 2.

    ==========  ===============  ===========  ==========
    target      non-target       new lesions  overall
    ==========  ===============  ===========  ==========
    CR          CR (or none)     no           CR
    CR          non-CR/non-PD    no           PR
    CR          NE               no           PR
    PR          non-PD or NE     no           PR
    SD          non-PD or NE     no           SD
    NE          non-PD           no           NE
    PD          any              any          PD
    any         PD               any          PD
    any         any              yes          PD
    ==========  ===============  ===========  ==========

    Without target disease (table 2) the non-target response is the overall response (CR,
    NON_CR_NON_PD, NE or PD). An equivocal new lesion counts as "no" at this time point.
    """
    if target == "PD" or non_target == "PD" or new_lesions == "yes":
        return "PD"
    if target == "NA":
        return "NE" if non_target == "NA" else non_target
    if target == "CR":
        return "CR" if non_target in ("CR", "NA") else "PR"
    return target


@dataclass(frozen=True)
class TimePointResponse:
    """The evaluation of one follow-up assessment."""

    date: date
    target: TargetResult
    non_target_response: Response
    new_lesions: NewLesions
    overall_response: Response
    findings: tuple[Finding, ...]

    def __str__(self) -> str:
        total = "-" if self.target.sum_mm is None else f"{self.target.sum_mm:g} mm"
        return (
            f"{self.date}  sum {total}  target {self.target.response}  "
            f"non-target {self.non_target_response}  new {self.new_lesions}  "
            f"overall {self.overall_response}"
        )


def _assessment_findings(k: int, baseline: Baseline, assessment: Assessment) -> list[Finding]:
    findings: list[Finding] = []
    path = f"assessments[{k}]"
    target_ids = {t.id for t in baseline.target}
    non_target_ids = {n.id for n in baseline.non_target}
    for lesion_id in assessment.target:
        if lesion_id not in target_ids:
            findings.append(
                Finding(
                    f"{path}.target.{lesion_id}",
                    "unknown_target",
                    f"{lesion_id} is not a baseline target lesion; record new lesions as "
                    "new_lesions: true and check the lesion id",
                )
            )
    for lesion_id in sorted(target_ids - set(assessment.target)):
        findings.append(
            Finding(
                f"{path}.target.{lesion_id}",
                "missing_target",
                f"no measurement for target {lesion_id}; record its diameter (0 if it "
                'disappeared), "too_small", or null if not evaluated',
            )
        )
    for lesion_id in assessment.non_target:
        if lesion_id not in non_target_ids:
            findings.append(
                Finding(
                    f"{path}.non_target.{lesion_id}",
                    "unknown_non_target",
                    f"{lesion_id} is not a baseline non-target lesion; check the lesion id",
                )
            )
    for lesion_id in sorted(non_target_ids - set(assessment.non_target)):
        findings.append(
            Finding(
                f"{path}.non_target.{lesion_id}",
                "missing_non_target",
                f"no status for non-target {lesion_id}; record present, absent, "
                "unequivocal_progression, or null if not evaluated",
            )
        )
    return findings


def _reappeared(measurements: Sequence[tuple[bool, float | None]]) -> bool:
    return any(
        mm is not None and (mm >= _NODE_PATHOLOGICAL_MM if node else mm > 0)
        for node, mm in measurements
    )


def evaluate_assessments(record: LesionRecord) -> tuple[TimePointResponse, ...]:
    """Evaluate every follow-up assessment in date order, tracking the nadir.

    The nadir starts at the baseline sum and is lowered by every assessment at which all targets
    were measured; an assessment is compared with the nadir *before* it.
    """
    baseline = record.baseline
    baseline_sum = float(sum(t.diameter_mm for t in baseline.target))
    nadir = baseline_sum
    in_cr = False
    out: list[TimePointResponse] = []
    for k, assessment in enumerate(record.assessments):
        measurements = [(t.lymph_node, assessment.measurement_mm(t.id)) for t in baseline.target]
        target = target_response(measurements, baseline_sum=baseline_sum, nadir=nadir)
        if in_cr and _reappeared(measurements):
            # EORTC RECIST FAQ: a target that reappears after a CR is progression
            target = replace(target, response="PD")
        if target.response != "NE":
            in_cr = target.response == "CR"
        statuses = [assessment.non_target.get(n.id) for n in baseline.non_target]
        non_target = non_target_response(statuses)
        overall = overall_response(target.response, non_target, assessment.new_lesion_status)
        out.append(
            TimePointResponse(
                date=assessment.date,
                target=target,
                non_target_response=non_target,
                new_lesions=assessment.new_lesion_status,
                overall_response=overall,
                findings=tuple(_assessment_findings(k, baseline, assessment)),
            )
        )
        if target.sum_mm is not None and all(mm is not None for _, mm in measurements):
            nadir = min(nadir, target.sum_mm)
    return tuple(out)
