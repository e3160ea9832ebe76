"""Endpoint derivation: PFS, TTP, OS, DoR and ORR from one patient's recorded data.

Every derived time carries the rule that produced it: a code, ``CNSR`` (0 event, 1 censored),
an event or censoring description (``EVNTDESC``) and the meaning of the date (``CNSDTDSC``), as
in a CDISC ADTTE dataset, so that each censoring can be traced to the rule that caused it.

Details and reasoning: docs/capture.md, section `trialkit.endpoints.derive`.

References
----------
U.S. FDA. Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics. Guidance for
Industry, December 2018 (table of PFS censoring rules).
EMA. Guideline on the evaluation of anticancer medicinal products in man, appendix 1:
methodological consideration for using progression-free survival (PFS) or disease-free survival
(DFS) in confirmatory trials. EMA/CHMP/27994/2008/Rev.1, 2012.
pharmaverse admiral ``derive_param_tte`` and admiralonco's ``pd_event``, ``death_event``,
``lasta_censor``, ``rand_censor`` source objects (the ADTTE variable conventions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from trialkit.endpoints.bor import BestOverallResponse, best_overall_response
from trialkit.endpoints.recist import DEFAULT_CRITERIA, Response
from trialkit.errors import RecordError
from trialkit.protocol.model import ResponseCriteria, Schedule

__all__ = [
    "DAYS_PER_MONTH",
    "RULES",
    "CensoringRules",
    "ObjectiveResponse",
    "PatientOutcome",
    "Rule",
    "TimeToEvent",
    "TumourResponse",
    "derive_dor",
    "derive_orr",
    "derive_os",
    "derive_pfs",
    "derive_ttp",
]

DAYS_PER_MONTH = 30.4375
Paramcd = Literal["PFS", "TTP", "OS", "DOR"]


@dataclass(frozen=True)
class Rule:
    """A derivation rule: the code, CNSR, and the ADTTE descriptions it writes."""

    code: str
    cnsr: int
    evntdesc: str
    cnsdtdsc: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("PD", 0, "Disease progression", "Date of progression"),
        Rule("DEATH", 0, "Death", "Date of death"),
        Rule("NO_BASELINE", 1, "No baseline tumour assessment", "Randomisation date"),
        Rule(
            "NO_POST_BASELINE",
            1,
            "No adequate post-baseline tumour assessment",
            "Randomisation date",
        ),
        Rule(
            "NEW_THERAPY",
            1,
            "New anticancer therapy before progression",
            "Last adequate tumour assessment on or before new anticancer therapy",
        ),
        Rule(
            "MISSED_ASSESSMENTS",
            1,
            "Progression or death after two or more missed tumour assessments",
            "Last adequate tumour assessment before the missed assessments",
        ),
        Rule(
            "NO_EVENT",
            1,
            "Alive without progression",
            "Last adequate tumour assessment",
        ),
        Rule(
            "DEATH_WITHOUT_PD",
            1,
            "Death without progression (not an event for TTP)",
            "Last adequate tumour assessment",
        ),
        Rule("ALIVE", 1, "Alive", "Date last known alive"),
    )
}
"""Every rule, by code (the ``SRCRULE`` column of ADTTE)."""


@dataclass(frozen=True)
class CensoringRules:
    """Which PFS censoring convention applies, and the assessment schedule it counts on."""

    name: Literal["FDA 2018", "EMA 2012"]
    new_therapy_censors: bool
    missed_assessments_censor: bool
    missed: int = 2
    interval_days: int = 56
    window_days: int = 7

    @classmethod
    def fda(cls, schedule: Schedule | None = None) -> CensoringRules:
        """FDA 2018 guidance: censor at new anticancer therapy and after >= 2 missed visits."""
        return cls("FDA 2018", True, True, *_schedule(schedule))

    @classmethod
    def ema(cls, schedule: Schedule | None = None) -> CensoringRules:
        """EMA 2012 appendix 1 (ITT-like): new therapy and missed visits do not censor."""
        return cls("EMA 2012", False, False, *_schedule(schedule))

    @property
    def missed_limit_days(self) -> int:
        """An event more than this many days after the last adequate assessment is censored."""
        return self.missed * self.interval_days + self.window_days


def _schedule(schedule: Schedule | None) -> tuple[int, int, int]:
    if schedule is None:
        return 2, 56, 7
    tumour = schedule.tumour_assessments
    return schedule.missed_assessments_censor, tumour.interval_days, tumour.window_days


@dataclass(frozen=True)
class TumourResponse:
    """One post-baseline tumour assessment: its date and RECIST overall response."""

    date: date
    response: Response


@dataclass(frozen=True)
class PatientOutcome:
    """What the endpoints need from one patient's recorded data.

    ``progression_date`` overrides the date of the first PD assessment (for a progression dated
    back to an equivocal new lesion, or clinical progression confirmed by the review committee).
    """

    usubjid: str
    randomisation_date: date
    assessments: tuple[TumourResponse, ...] = ()
    baseline_assessed: bool = True
    progression_date: date | None = None
    death_date: date | None = None
    death_cause: str | None = None
    last_alive_date: date | None = None
    new_therapy_date: date | None = None
    end_of_study: date | None = None
    siteid: str = ""
    first_dose_date: date | None = None
    stratum: str | None = None
    background_therapy: str | None = None
    per_protocol: bool = True
    last_dose_date: date | None = None
    sex: str | None = None
    """CDISC SEX code (``F``, ``M``; ``U`` when not recorded)."""
    age: int | None = None
    """Completed years at randomisation."""
    country: str | None = None
    """ISO 3166-1 alpha-3 code of the patient's site."""
    arm: str | None = field(default=None, repr=False)
    """The arm code (``A``/``B``): only unblinded analysis datasets show it."""
    kit_arms: tuple[str, ...] = field(default=(), repr=False)
    """The distinct arms of the kits dispensed to the patient (unblinded callers only)."""

    def __post_init__(self) -> None:
        where = f"patient {self.usubjid}"
        dates = [a.date for a in self.assessments]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            raise RecordError(
                "tumour assessments must be in date order, one per date", location=where
            )
        for name in ("death_date", "last_alive_date", "new_therapy_date", "progression_date"):
            value: date | None = getattr(self, name)
            if value is not None and value < self.randomisation_date:
                raise RecordError(
                    f"{name} {value} is before randomisation ({self.randomisation_date})",
                    location=f"{where}: {name}",
                )
        if dates and dates[0] < self.randomisation_date:
            raise RecordError(
                f"post-baseline assessment on {dates[0]} is before randomisation; record "
                "pre-randomisation scans as the baseline",
                location=f"{where}: assessments[0]",
            )
        if self.death_date is not None and dates and dates[-1] > self.death_date:
            raise RecordError(
                f"tumour assessment on {dates[-1]} after death ({self.death_date})",
                location=f"{where}: assessments",
            )

    @property
    def first_pd(self) -> date | None:
        """The date of first progression."""
        if self.progression_date is not None:
            return self.progression_date
        return next((a.date for a in self.assessments if a.response == "PD"), None)


@dataclass(frozen=True)
class TimeToEvent:
    """One derived time-to-event parameter for one patient (one ADTTE row)."""

    paramcd: Paramcd
    start: date
    date: date
    rule: Rule

    @property
    def cnsr(self) -> int:
        return self.rule.cnsr

    @property
    def event(self) -> bool:
        return self.rule.cnsr == 0

    @property
    def days(self) -> int:
        """``ADT - STARTDT + 1`` (the ADaM convention)."""
        return (self.date - self.start).days + 1

    @property
    def months(self) -> float:
        return self.days / DAYS_PER_MONTH

    def __str__(self) -> str:
        what = "event" if self.event else "censored"
        return (
            f"{self.paramcd}: {self.days} days ({self.months:.1f} months), {what} on "
            f"{self.date}: {self.rule.evntdesc} [{self.rule.code}]"
        )


def _adequate(assessments: Sequence[TumourResponse], *, after: date, until: date) -> list[date]:
    return [a.date for a in assessments if after <= a.date <= until and a.response != "NE"]


def _progression_like(
    patient: PatientOutcome,
    paramcd: Paramcd,
    rules: CensoringRules,
    *,
    start: date,
    death_is_event: bool,
) -> TimeToEvent:
    """PFS, TTP and DoR share one algorithm; see the module docstring for the rules."""

    def censor(code: str, on: date) -> TimeToEvent:
        return TimeToEvent(paramcd, start, on, RULES[code])

    if not patient.baseline_assessed:
        return censor("NO_BASELINE", start)
    horizon = date.max
    if rules.new_therapy_censors and patient.new_therapy_date is not None:
        horizon = patient.new_therapy_date
    pd_date = patient.first_pd
    candidates: list[tuple[date, str]] = []
    if pd_date is not None and pd_date <= horizon:
        candidates.append((pd_date, "PD"))
    death = patient.death_date
    if death is not None and death <= horizon:
        candidates.append((death, "DEATH"))
    if candidates:
        # the earliest; on the same day PD (listed first) wins, as in admiral's event order
        event_date, code = min(candidates, key=lambda c: c[0])
        before = _adequate(patient.assessments, after=start, until=event_date)
        before = [d for d in before if d < event_date]
        last = before[-1] if before else start
        if rules.missed_assessments_censor and (event_date - last).days > rules.missed_limit_days:
            return censor("MISSED_ASSESSMENTS", last)
        if code == "DEATH" and not death_is_event:
            return censor("DEATH_WITHOUT_PD", last)
        return TimeToEvent(paramcd, start, event_date, RULES[code])
    adequate = _adequate(patient.assessments, after=start, until=horizon)
    if paramcd == "DOR":
        adequate = [d for d in adequate if d > start]  # the response itself is no follow-up
    if horizon != date.max:
        # new anticancer therapy: whatever happened after it does not count
        return censor("NEW_THERAPY", adequate[-1] if adequate else start)
    if not adequate:
        return censor("NO_EVENT" if paramcd == "DOR" else "NO_POST_BASELINE", start)
    return censor("NO_EVENT", adequate[-1])


def derive_pfs(patient: PatientOutcome, rules: CensoringRules | None = None) -> TimeToEvent:
    """Progression-free survival: randomisation to first PD or death from any cause.

    Parameters
    ----------
    patient
        The patient's recorded outcome.
    rules
        The censoring convention; FDA 2018 with SOR's 8-weekly schedule by default.
    """
    return _progression_like(
        patient,
        "PFS",
        rules or CensoringRules.fda(),
        start=patient.randomisation_date,
        death_is_event=True,
    )


def derive_ttp(patient: PatientOutcome, rules: CensoringRules | None = None) -> TimeToEvent:
    """Time to progression: as PFS, but a death without progression is censored at the last
    adequate assessment before it."""
    return _progression_like(
        patient,
        "TTP",
        rules or CensoringRules.fda(),
        start=patient.randomisation_date,
        death_is_event=False,
    )


def derive_os(patient: PatientOutcome) -> TimeToEvent:
    """Overall survival: randomisation to death from any cause; alive patients are censored on
    the date last known alive (randomisation when none is recorded)."""
    start = patient.randomisation_date
    if patient.death_date is not None:
        return TimeToEvent("OS", start, patient.death_date, RULES["DEATH"])
    return TimeToEvent("OS", start, patient.last_alive_date or start, RULES["ALIVE"])


@dataclass(frozen=True)
class ObjectiveResponse:
    """ORR for one patient: the best overall response and whether it is a response."""

    usubjid: str
    best: BestOverallResponse

    @property
    def responder(self) -> bool:
        return self.best.response in ("CR", "PR")

    def __str__(self) -> str:
        return f"{self.usubjid}: {self.best} ({'responder' if self.responder else 'no response'})"


def derive_orr(
    patient: PatientOutcome, criteria: ResponseCriteria = DEFAULT_CRITERIA
) -> ObjectiveResponse:
    """Best overall response up to progression and before new anticancer therapy; a responder
    has BOR CR or PR (confirmed when the protocol requires confirmation)."""
    responses = [(a.date, a.response) for a in patient.assessments]
    pd_date = patient.first_pd
    if pd_date is not None:
        responses = [(d, r) for d, r in responses if d < pd_date] + [(pd_date, "PD")]
    best = best_overall_response(
        responses,
        reference_date=patient.randomisation_date,
        min_sd_days=criteria.min_sd_days,
        confirmation_required=criteria.confirmation_required,
        min_confirmation_days=criteria.min_confirmation_days,
        max_ne_between=criteria.max_ne_between_confirmation,
        until=patient.new_therapy_date,
    )
    return ObjectiveResponse(patient.usubjid, best)


def derive_dor(
    patient: PatientOutcome,
    rules: CensoringRules | None = None,
    criteria: ResponseCriteria = DEFAULT_CRITERIA,
) -> TimeToEvent | None:
    """Duration of response: first CR/PR to PD or death, for responders only (else ``None``).

    The censoring rules are those of PFS, counted from the first response.
    """
    orr = derive_orr(patient, criteria)
    if not orr.responder:
        return None
    first = next(
        a.date
        for a in patient.assessments
        if a.response in ("CR", "PR") and (patient.first_pd is None or a.date < patient.first_pd)
    )
    return _progression_like(
        patient, "DOR", rules or CensoringRules.fda(), start=first, death_is_event=True
    )
