"""Safety tables: adverse-event incidence by arm and CTCAE grade, worst grade, SAEs, deaths,
exposure.

Details and reasoning: docs/statistics.md, section `trialkit.analysis.safety`.

References
----------
ICH E3 Structure and Content of Clinical Study Reports, section 12 (safety evaluation).
NCI Common Terminology Criteria for Adverse Events (CTCAE) v5.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trialkit.errors import InputError

__all__ = [
    "GRADES",
    "POOLED",
    "AdverseEvent",
    "SafetyColumn",
    "SafetyPatient",
    "SafetyTables",
    "TermRow",
    "safety_tables",
]

GRADES = (1, 2, 3, 4, 5)
POOLED = "All patients"


@dataclass(frozen=True, slots=True)
class SafetyPatient:
    """A safety-population patient: the column it falls in, death and days on study drug."""

    usubjid: str
    group: str
    died: bool = False
    exposure_days: int | None = None


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """One recorded adverse event (grade 1-5 or unknown, serious or not or unknown)."""

    usubjid: str
    term: str
    grade: int | None
    serious: bool | None


@dataclass(frozen=True, slots=True)
class SafetyColumn:
    """One column (an arm, or all patients pooled)."""

    group: str
    n: int
    any_ae: int
    worst_grade: dict[int, int]  # grade -> patients whose worst grade of any AE is that grade
    grade_3_plus: int
    serious: int
    deaths: int
    fatal_ae: int
    exposure_patient_days: int
    exposure_median_days: float | None


@dataclass(frozen=True, slots=True)
class TermRow:
    """One AE term: patients by column with the term at any grade, and at each worst grade."""

    term: str
    any_grade: dict[str, int]
    by_grade: dict[str, dict[int, int]]
    grade_3_plus: dict[str, int]


@dataclass(frozen=True, slots=True)
class SafetyTables:
    columns: tuple[SafetyColumn, ...]
    terms: tuple[TermRow, ...]
    ungraded_events: int

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(c.group for c in self.columns)

    def summary(self) -> str:
        return "\n".join(
            f"{c.group}: n={c.n}, any AE {c.any_ae}, grade>=3 {c.grade_3_plus}, "
            f"serious {c.serious}, deaths {c.deaths}"
            for c in self.columns
        )

    def __str__(self) -> str:
        return self.summary()


def safety_tables(
    patients: Sequence[SafetyPatient],
    events: Sequence[AdverseEvent],
    *,
    groups: Sequence[str] | None = None,
) -> SafetyTables:
    """Tabulate adverse events over the safety population.

    Parameters
    ----------
    patients
        The safety population, each with the column (``group``) it is counted in.
    events
        Adverse events; events of patients outside ``patients`` are an error (they are not in
        the safety population, so their denominator is unknown).
    groups
        Column order; by default the groups in sorted order.

    Returns
    -------
    SafetyTables
        Per column: patients with any AE, by worst grade, grade >= 3, serious, deaths (any
        cause), fatal AEs (grade 5), exposure (total and median days). Per term (sorted by
        decreasing overall incidence, then name): patients by column at any grade and by
        worst grade. Events with no grade count as "any AE" but in no grade.
    """
    by_id = {p.usubjid: p for p in patients}
    if len(by_id) != len(patients):
        raise InputError("a patient is listed twice in the safety population")
    order = list(groups) if groups is not None else sorted({p.group for p in patients})
    unknown = {p.group for p in patients} - set(order)
    if unknown:
        raise InputError(f"patients in groups {sorted(unknown)} not among the columns {order}")
    worst: dict[str, int] = {}
    any_ae: set[str] = set()
    serious: set[str] = set()
    term_worst: dict[str, dict[str, int]] = {}  # term -> patient -> worst grade (0 = ungraded)
    ungraded = 0
    for ev in events:
        if ev.usubjid not in by_id:
            raise InputError(
                f"adverse event {ev.term!r} of {ev.usubjid} who is not in the safety population; "
                "a patient with AEs must have received study drug",
                location=ev.usubjid,
            )
        if ev.grade is not None and ev.grade not in GRADES:
            raise InputError(f"grade {ev.grade} of {ev.term!r}: CTCAE grades are 1 to 5")
        any_ae.add(ev.usubjid)
        grade = ev.grade or 0
        ungraded += ev.grade is None
        worst[ev.usubjid] = max(worst.get(ev.usubjid, 0), grade)
        if ev.serious:
            serious.add(ev.usubjid)
        per = term_worst.setdefault(ev.term.strip().upper(), {})
        per[ev.usubjid] = max(per.get(ev.usubjid, 0), grade)
    columns = []
    for group in order:
        members = [p for p in patients if p.group == group]
        ids = {p.usubjid for p in members}
        exposure = [p.exposure_days for p in members if p.exposure_days is not None]
        columns.append(
            SafetyColumn(
                group=group,
                n=len(members),
                any_ae=len(ids & any_ae),
                worst_grade={
                    g: sum(1 for i in ids if i in any_ae and worst[i] == g) for g in GRADES
                },
                grade_3_plus=sum(1 for i in ids if i in any_ae and worst[i] >= 3),
                serious=len(ids & serious),
                deaths=sum(p.died for p in members),
                fatal_ae=sum(1 for i in ids if i in any_ae and worst[i] == 5),
                exposure_patient_days=int(sum(exposure)),
                exposure_median_days=float(np.median(exposure)) if exposure else None,
            )
        )
    rows = []
    for term, per in term_worst.items():
        any_grade, by_grade, severe = {}, {}, {}
        for group in order:
            grades = [g for i, g in per.items() if by_id[i].group == group]
            any_grade[group] = len(grades)
            by_grade[group] = {g: grades.count(g) for g in GRADES}
            severe[group] = sum(1 for g in grades if g >= 3)
        rows.append(TermRow(term, any_grade, by_grade, severe))
    rows.sort(key=lambda r: (-sum(r.any_grade.values()), r.term))
    return SafetyTables(tuple(columns), tuple(rows), ungraded)
