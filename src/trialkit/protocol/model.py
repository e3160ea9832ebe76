"""The protocol model: everything a trial registry record states, as validated data.

A protocol file (YAML) is parsed into :class:`Protocol`. The model is frozen all
the way down (lists are tuples, mappings read-only: one loaded protocol is shared
by every caller in the process, so no caller may change it) and forbids unknown
keys, so a misspelt key in a protocol file is an error, not a silently ignored
setting. Rules (eligibility criteria, background-therapy rules)
are CEL expressions (https://cel.dev) kept as strings here; they are compiled
and checked by :mod:`trialkit.protocol.loader` when the file is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from trialkit.protocol._base import NAME, ReadOnlyMapping, _Frozen, _read_only
from trialkit.protocol.forms import Forms

__all__ = [
    "Allocation",
    "Arm",
    "BackgroundTherapy",
    "BodySurfaceArea",
    "Centre",
    "Country",
    "Criterion",
    "Derived",
    "Design",
    "DesignClaim",
    "DrugSafetyInformation",
    "Eligibility",
    "Endpoint",
    "Enrolment",
    "EthicsApproval",
    "FullVerification",
    "Minimisation",
    "Monitoring",
    "Organisation",
    "Population",
    "Protocol",
    "Regimen",
    "ResponseCriteria",
    "Safety",
    "Schedule",
    "ScheduledVisits",
    "SourceVerificationPlan",
    "StratificationFactor",
    "StudyDrug",
    "TherapyRule",
    "TrialDates",
    "UnknownCheck",
]

CRITERION_ID = re.compile(r"^(?P<kind>[IE])(?P<number>\d+)(?:\.(?P<sub>\d+))?$")


class Organisation(_Frozen):
    name: str
    role: str | None = None
    type: str | None = None
    ror: str | None = None
    contribution: str | None = None


class Country(_Frozen):
    code: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code")
    name: str


class Centre(_Frozen):
    name: str
    city: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    postcode: str | None = None
    coordinating: bool = False


class EthicsApproval(_Frozen):
    committee: str
    centre: str
    approval_date: date
    text: str


class TrialDates(_Frozen):
    first_enrolment: date
    final_enrolment: date
    completion: date

    @model_validator(mode="after")
    def _ordered(self) -> TrialDates:
        if not self.first_enrolment <= self.final_enrolment <= self.completion:
            raise ValueError("dates must satisfy first_enrolment <= final_enrolment <= completion")
        return self


class Population(_Frozen):
    sex: Literal["female", "male", "all"]
    lower_age_years: int = Field(ge=0)
    age_group: str
    participant_type: str
    healthy_volunteers: bool


class Arm(_Frozen):
    id: str = Field(pattern=r"^[A-Z]$")
    label: str
    role: Literal["treatment", "control"]
    product: str
    dose_mg: float | None = Field(default=None, gt=0)
    tablets_per_dose: int = Field(gt=0)
    doses_per_day: int = Field(gt=0)
    route: str
    text: str


StratificationFactor = Literal["background_therapy", "country", "centre"]


class Minimisation(_Frozen):
    """Settings of Pocock-Simon minimisation (used when ``allocation.method`` is ``minimisation``).

    ``p_preferred`` is the probability of assigning the arm that minimises the imbalance;
    it must be strictly between 1/(number of arms) and 1, so that assignment is never
    deterministic. ``weights`` give each stratification factor's weight (default 1).
    """

    p_preferred: float = Field(default=0.8, gt=0, lt=1)
    measure: Literal["range", "variance"] = "range"
    weights: ReadOnlyMapping[float] = Field(default_factory=lambda: _read_only({}))

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: Mapping[str, float]) -> Mapping[str, float]:
        bad = sorted(k for k, w in value.items() if w <= 0)
        if bad:
            raise ValueError(f"minimisation weights must be positive: {', '.join(bad)}")
        return value


class Allocation(_Frozen):
    """How patients are allocated to arms.

    ``method``, ``block_sizes``, ``strata``, ``slots_per_stratum`` and ``minimisation``
    are optional: a protocol without them is randomised by permuted blocks of sizes
    (ratio sum) and 2 x (ratio sum), unstratified, with a list of 500 slots.
    """

    ratio: ReadOnlyMapping[int]
    blinding: Literal["open", "single", "double"]
    text: str
    method: Literal["permuted_blocks", "minimisation"] = "permuted_blocks"
    block_sizes: tuple[int, ...] | None = Field(
        default=None, description="Block sizes drawn at random (equally likely) for each block."
    )
    strata: tuple[StratificationFactor, ...] = Field(
        default=(),
        description="Stratification factors, in the order the stratum key names them.",
    )
    slots_per_stratum: int = Field(
        default=500, gt=0, description="Length of each stratum's list (patients plus margin)."
    )
    minimisation: Minimisation | None = None

    @model_validator(mode="after")
    def _blocks_fit_ratio(self) -> Allocation:
        total = sum(self.ratio.values())
        if self.block_sizes is not None:
            bad = [b for b in self.block_sizes if b <= 0 or b % total]
            if bad or not self.block_sizes:
                raise ValueError(
                    f"allocation.block_sizes must be positive multiples of the ratio sum {total} "
                    f"(ratio {dict(self.ratio)}); got {list(self.block_sizes)}"
                )
            if len(set(self.block_sizes)) != len(self.block_sizes):
                raise ValueError("allocation.block_sizes must not repeat a size")
        if len(set(self.strata)) != len(self.strata):
            raise ValueError("allocation.strata must not repeat a factor")
        if self.minimisation is not None:
            unknown = sorted(set(self.minimisation.weights) - set(self.strata))
            if unknown:
                raise ValueError(
                    f"minimisation weights name {unknown}, which are not allocation.strata "
                    f"{list(self.strata)}"
                )
            if len(self.ratio) > 1 and self.minimisation.p_preferred <= 1 / len(self.ratio):
                raise ValueError(
                    f"minimisation.p_preferred must exceed 1/{len(self.ratio)} (one over the "
                    "number of arms), or the preferred arm is not preferred"
                )
        return self

    @property
    def effective_block_sizes(self) -> tuple[int, ...]:
        """The block sizes in use: the protocol's, or (ratio sum, 2 x ratio sum)."""
        if self.block_sizes is not None:
            return tuple(self.block_sizes)
        total = sum(self.ratio.values())
        return (total, 2 * total)


class Regimen(_Frozen):
    id: str = Field(pattern=NAME.pattern)
    drug: str
    dose: float = Field(gt=0)
    dose_unit: Literal["mg", "mg/m2"]
    route: str
    frequency: str
    infusion_minutes: int | None = Field(default=None, gt=0)
    cycle_days: int | None = Field(default=None, gt=0)
    day_of_cycle: int | None = Field(default=None, gt=0)
    max_cycles: int | None = Field(default=None, gt=0)
    stop_early_when: tuple[str, ...] = ()
    text: str

    @model_validator(mode="after")
    def _cycled(self) -> Regimen:
        cycled = (self.cycle_days, self.day_of_cycle)
        if any(v is not None for v in cycled) and not all(v is not None for v in cycled):
            raise ValueError("a cycled regimen needs both cycle_days and day_of_cycle")
        return self


class TherapyRule(_Frozen):
    """One background-therapy path: when it applies (CEL) and the regimens in sequence."""

    id: str = Field(pattern=NAME.pattern)
    label: str
    when: str
    regimens: tuple[str, ...] = Field(min_length=1)
    switch_window_days: tuple[int, int] | None = Field(
        default=None,
        description="Days of the last cycle of the first regimen on which the next one starts.",
    )
    text: str


class BodySurfaceArea(_Frozen):
    formula: Literal["mosteller", "dubois"]
    bsa_decimals: int = Field(ge=0, le=4)
    dose_rounding_mg: float = Field(gt=0)
    text: str


class BackgroundTherapy(_Frozen):
    regimens: tuple[Regimen, ...]
    rules: tuple[TherapyRule, ...]
    no_assignment: tuple[UnknownCheck, ...] = Field(
        default=(),
        description="Checks (CEL) that leave a patient without background therapy, with reason.",
    )
    body_surface_area: BodySurfaceArea

    @model_validator(mode="after")
    def _regimens_exist(self) -> BackgroundTherapy:
        known = {r.id for r in self.regimens}
        for rule in self.rules:
            missing = [r for r in rule.regimens if r not in known]
            if missing:
                raise ValueError(f"rule {rule.id!r} names unknown regimen(s) {missing}")
        return self


class UnknownCheck(_Frozen):
    """A condition (CEL) under which a rule cannot be decided, with the reason shown.

    ``detail``, when given, is a CEL string expression naming the values that met the
    condition (``"FSH 80 IU/L, last menses 1 month(s) ago"``); it follows the reason.
    """

    when: str
    reason: str
    detail: str | None = None


class Derived(_Frozen):
    """A named value (CEL) computed from the record before the criteria, as ``d.NAME``."""

    name: str = Field(pattern=NAME.pattern)
    expr: str
    text: str


class Criterion(_Frozen):
    """One eligibility criterion or sub-item, with the record's text verbatim.

    ``rule`` is a CEL expression that is true when the criterion's condition holds
    for the patient: for an inclusion criterion that means *met*; for an exclusion
    criterion it means the excluding condition is present (*met*, so the patient
    is excluded). ``reason`` is a CEL string expression naming the data used.
    Criteria with sub-items combine their children's results with ``combine``
    (``all`` or ``any``) and, when given, their own ``rule``. ``short`` names the
    criterion in a few words where a table or flow diagram has no room for the text.
    """

    id: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    short: str | None = Field(default=None, max_length=60)
    rule: str | None = None
    reason: str | None = None
    applies_when: str | None = None
    not_applicable: str | None = None
    combine: Literal["all", "any"] | None = None
    requires: tuple[str, ...] = ()
    unknown_when: tuple[UnknownCheck, ...] = ()
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not CRITERION_ID.match(value):
            raise ValueError(
                f"criterion id {value!r} must look like I3, E13 or I10.5 "
                "(I = inclusion, E = exclusion)"
            )
        return value

    @property
    def parent(self) -> str | None:
        """The id of the criterion this one is a sub-item of (``I10`` for ``I10.5``)."""
        return self.id.split(".")[0] if "." in self.id else None

    @property
    def short_text(self) -> str:
        """``short``, else the text's first sentence cut to about 60 characters."""
        if self.short:
            return self.short
        first = re.split(r"(?<=[.;:])\s", self.text.strip(), maxsplit=1)[0].rstrip(".;: ")
        if len(first) <= 60:
            return first
        return first[:59].rsplit(" ", 1)[0].rstrip(",;: ") + "\u2026"

    @model_validator(mode="after")
    def _consistent(self) -> Criterion:
        prefix = "I" if self.kind == "inclusion" else "E"
        if not self.id.startswith(prefix):
            raise ValueError(
                f"criterion {self.id} is an {self.kind} criterion: its id must start with {prefix}"
            )
        if self.rule is None and self.combine is None:
            raise ValueError(
                f"criterion {self.id} needs a rule, a combine of its sub-items, or both"
            )
        if self.rule is not None and self.reason is None:
            raise ValueError(f"criterion {self.id} has a rule but no reason expression")
        if (self.applies_when is None) != (self.not_applicable is None):
            raise ValueError(f"criterion {self.id}: applies_when and not_applicable go together")
        return self


class Eligibility(_Frozen):
    derived: tuple[Derived, ...] = ()
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _structure(self) -> Eligibility:
        ids = [c.id for c in self.criteria]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate criterion ids: {', '.join(duplicates)}")
        by_id = {c.id: c for c in self.criteria}
        for criterion in self.criteria:
            parent = criterion.parent
            if parent is not None:
                if parent not in by_id:
                    raise ValueError(f"sub-item {criterion.id} has no parent criterion {parent}")
                if by_id[parent].combine is None:
                    raise ValueError(
                        f"criterion {parent} has sub-items ({criterion.id}) "
                        "and needs combine: all|any"
                    )
                if by_id[parent].kind != criterion.kind:
                    raise ValueError(
                        f"sub-item {criterion.id} must be of the same kind as {parent}"
                    )
            elif criterion.combine is not None and not any(
                c.parent == criterion.id for c in self.criteria
            ):
                raise ValueError(f"criterion {criterion.id} combines sub-items but has none")
        names = [d.name for d in self.derived]
        if len(names) != len(set(names)):
            raise ValueError("derived value names must be unique")
        return self

    def children(self, criterion_id: str) -> list[Criterion]:
        """The sub-items of a criterion, in file order."""
        return [c for c in self.criteria if c.parent == criterion_id]

    def top_level(self) -> list[Criterion]:
        """The numbered criteria (no sub-items), in file order."""
        return [c for c in self.criteria if c.parent is None]


class Endpoint(_Frozen):
    id: str = Field(pattern=r"^[A-Z][A-Za-z0-9_]*$")
    name: str
    role: Literal["primary", "secondary"]
    type: Literal["time_to_event", "binary", "safety"]
    origin: Literal["randomisation"] | None = None
    events: tuple[str, ...] = ()
    text: str


class DesignClaim(_Frozen):
    """A quantitative statement of the protocol that trialkit recomputes and checks."""

    id: str = Field(pattern=NAME.pattern)
    statement: str
    stated: float
    decimals: int = Field(ge=0, description="Decimals the stated number is given to.")
    unit: str | None = None


class Design(_Frozen):
    distribution: Literal["exponential"]
    time_unit: Literal["months"]
    median_control: float = Field(gt=0)
    median_treatment: float = Field(gt=0)
    patients: int = Field(gt=0)
    events: int = Field(gt=0)
    events_after_enrolment: float = Field(ge=0)
    allocation_ratio: float = Field(gt=0, description="treatment : control")
    decision_hr: float = Field(gt=0)
    alternative_hr: float = Field(gt=0)
    alpha_one_sided: float = Field(gt=0, lt=1)
    text: str
    claims: tuple[DesignClaim, ...]

    @model_validator(mode="after")
    def _events_possible(self) -> Design:
        if self.events > self.patients:
            raise ValueError(
                f"{self.patients} patients can give at most {self.patients} events; "
                f"the design asks for {self.events}"
            )
        return self


class ScheduledVisits(_Frozen):
    """Visits repeated every ``interval_days`` from an anchor date, each with a +- window."""

    interval_days: int = Field(gt=0)
    window_days: int = Field(ge=0)
    text: str

    @model_validator(mode="after")
    def _window_inside_interval(self) -> ScheduledVisits:
        if 2 * self.window_days >= self.interval_days:
            raise ValueError(
                f"a window of +-{self.window_days} days overlaps the next visit "
                f"{self.interval_days} days later; make the window less than half the interval"
            )
        return self


class Schedule(_Frozen):
    """The visit schedule: treatment visits, tumour assessments, survival follow-up."""

    treatment_window_days: int = Field(ge=0, description="+- days around each cycle's day 1.")
    tumour_assessments: ScheduledVisits
    survival_follow_up: ScheduledVisits
    missed_assessments_censor: int = Field(
        ge=1, description="PD or death after this many missed assessments is censored (FDA)."
    )
    text: str


class StudyDrug(_Frozen):
    """How the blinded study drug is dispensed: one kit per cycle, each due a cycle after the last.

    Cycle ``k`` (``k`` >= 2) is due ``cycle_days`` after cycle ``k - 1`` was dispensed and may
    be dispensed from ``window_days`` before that day; a later dispensing is a delay, which
    moves the following cycles with it.
    """

    cycle_days: int = Field(gt=0, description="Days one kit lasts: the study-drug cycle.")
    window_days: int = Field(ge=0, description="Days before the due date a kit may be given.")
    text: str

    @model_validator(mode="after")
    def _window_inside_cycle(self) -> StudyDrug:
        if self.window_days >= self.cycle_days:
            raise ValueError(
                f"study_drug.window_days ({self.window_days}) must be shorter than the cycle "
                f"({self.cycle_days} days), or two kits could be given on one day"
            )
        return self


class Enrolment(_Frozen):
    """How many patients the trial randomises: ``target``, then at most ``cap``.

    Between the target and the cap a randomisation is allowed with a warning; at the cap
    enrolment closes. Over-enrolment is the sponsor's decision, recorded here.
    """

    target: int = Field(gt=0)
    cap: int = Field(gt=0)
    text: str

    @model_validator(mode="after")
    def _cap_at_or_over_target(self) -> Enrolment:
        if self.cap < self.target:
            raise ValueError(
                f"enrolment.cap ({self.cap}) must be at least enrolment.target ({self.target})"
            )
        return self


class ResponseCriteria(_Frozen):
    """Tumour response criteria (RECIST 1.1) and the best-overall-response rules."""

    criteria: Literal["RECIST 1.1"]
    max_targets: int = Field(gt=0)
    max_targets_per_organ: int = Field(gt=0)
    baseline_max_days_before_randomisation: int = Field(ge=0)
    min_sd_days: int = Field(ge=0, description="SD counts for BOR at >= this many days.")
    confirmation_required: bool
    min_confirmation_days: int = Field(gt=0)
    max_ne_between_confirmation: int = Field(ge=0)
    text: str


class FullVerification(_Frozen):
    """Records verified against source in full: every record of ``form`` (where ``when_item``
    is given, only those whose item is true, e.g. serious adverse events)."""

    form: str = Field(pattern=NAME.pattern)
    when_item: str | None = Field(default=None, pattern=NAME.pattern)
    label: str


class SourceVerificationPlan(_Frozen):
    """The protocol's source data verification (SDV) plan: what is verified in full, and the
    fraction of every other record drawn (reproducibly, by hash of the record's identity)."""

    full: tuple[FullVerification, ...] = ()
    sample_fraction: float = Field(ge=0, le=1)
    text: str


class Monitoring(_Frozen):
    """Monitoring and sign-off: the SDV plan, the forms that need their own signature, and the
    meaning an investigator's signature states unless she writes her own."""

    sdv: SourceVerificationPlan
    signature_per_form: tuple[str, ...] = ()
    signature_meaning: str = Field(min_length=1)


class DrugSafetyInformation(_Frozen):
    """One drug's reference safety information: the adverse reactions expected with it.

    ``expected`` are CTCAE v5.0 terms; an SAE whose term is not among them is unexpected for
    the drug. ``blinded``: the drug is the blinded study drug (sorafenib or placebo), so a
    suspicion against it needs the case unblinded.
    """

    drug: str = Field(pattern=NAME.pattern)
    label: str
    blinded: bool = False
    source: str
    status: str
    expected: tuple[str, ...] = Field(min_length=1)


class Safety(_Frozen):
    """Pharmacovigilance: the reference safety information per drug (ICH E2A; EU CT-3)."""

    sae_report_hours: int = Field(default=24, gt=0)
    sae_form: str | None = Field(
        default=None, description="the form (of forms) the site reports an SAE on"
    )
    adverse_event_form: str | None = Field(
        default=None, description="the adverse-event form whose serious_item asks for an SAE"
    )
    serious_item: str = "serious"
    reference_safety_information: tuple[DrugSafetyInformation, ...] = Field(min_length=1)
    text: str

    @model_validator(mode="after")
    def _terms(self) -> Safety:
        from trialkit.errors import InputError
        from trialkit.safety.terms import ctcae_term  # the term list is the safety core's data

        drugs = [d.drug for d in self.reference_safety_information]
        if len(set(drugs)) != len(drugs):
            raise ValueError("reference_safety_information names a drug twice")
        if sum(d.blinded for d in self.reference_safety_information) > 1:
            raise ValueError("at most one drug of the reference safety information is blinded")
        for info in self.reference_safety_information:
            for term in info.expected:
                try:
                    ctcae_term(term)
                except InputError as exc:
                    raise ValueError(f"{info.drug}: {exc}") from None
        return self

    def drugs(self) -> tuple[str, ...]:
        return tuple(d.drug for d in self.reference_safety_information)

    def expected(self) -> dict[str, tuple[str, ...]]:
        return {d.drug: d.expected for d in self.reference_safety_information}

    def blinded(self) -> frozenset[str]:
        return frozenset(d.drug for d in self.reference_safety_information if d.blinded)


class Protocol(_Frozen):
    """A whole trial protocol, validated."""

    schema_version: Literal[1]
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    acronym: str
    version: str
    title: str
    condition_category: str
    health_condition: str
    phase: str
    study_design: str
    primary_study_design: str
    study_type: str
    registry_record: str | None = None
    ethics: tuple[EthicsApproval, ...]
    countries: tuple[Country, ...] = Field(min_length=1)
    centres: tuple[Centre, ...] = Field(min_length=1)
    sponsor: Organisation
    funders: tuple[Organisation, ...]
    dates: TrialDates
    population: Population
    arms: tuple[Arm, ...] = Field(min_length=2)
    allocation: Allocation
    background_therapy: BackgroundTherapy | None = None
    eligibility: Eligibility
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    design: Design | None = None
    schedule: Schedule | None = None
    response: ResponseCriteria | None = None
    study_drug: StudyDrug | None = None
    enrolment: Enrolment | None = None
    safety: Safety | None = None
    forms: Forms | None = None
    monitoring: Monitoring | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Protocol:
        arm_ids = [a.id for a in self.arms]
        if len(set(arm_ids)) != len(arm_ids):
            raise ValueError("arm ids must be unique")
        if set(self.allocation.ratio) != set(arm_ids):
            raise ValueError(
                f"allocation.ratio must give a weight for every arm {arm_ids}, "
                f"got {sorted(self.allocation.ratio)}"
            )
        if any(w <= 0 for w in self.allocation.ratio.values()):
            raise ValueError("allocation.ratio weights must be positive integers")
        if "background_therapy" in self.allocation.strata and self.background_therapy is None:
            raise ValueError(
                "allocation.strata names background_therapy but the protocol has no "
                "background_therapy section; add it or drop the factor"
            )
        if self.allocation.method == "minimisation" and not self.allocation.strata:
            raise ValueError("allocation.method minimisation needs allocation.strata (factors)")
        codes = {c.code for c in self.countries}
        for centre in self.centres:
            if centre.country not in codes:
                raise ValueError(
                    f"centre {centre.name!r} is in {centre.country}, "
                    "which is not a country of the trial"
                )
        if sum(c.coordinating for c in self.centres) > 1:
            raise ValueError("at most one centre can be the coordinating centre")
        if sum(e.role == "primary" for e in self.endpoints) != 1:
            raise ValueError("exactly one endpoint must have role: primary")
        if (
            self.enrolment is not None
            and self.design is not None
            and self.enrolment.target != self.design.patients
        ):
            raise ValueError(
                f"enrolment.target ({self.enrolment.target}) must equal design.patients "
                f"({self.design.patients}): the trial has one target"
            )
        return self

    def arm(self, arm_id: str) -> Arm:
        """The arm with this id."""
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(arm_id)

    @property
    def primary_endpoint(self) -> Endpoint:
        return next(e for e in self.endpoints if e.role == "primary")

    @property
    def coordinating_centre(self) -> Centre | None:
        return next((c for c in self.centres if c.coordinating), None)


BackgroundTherapy.model_rebuild()
