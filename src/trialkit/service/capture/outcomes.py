"""Endpoints from the database: each randomised patient's :class:`PatientOutcome`, ADSL, ADTTE.

Details and reasoning: docs/capture.md, section `trialkit.service.capture.outcomes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.endpoints import (
    AdslRow,
    AdtteRow,
    CensoringRules,
    PatientOutcome,
    RecistEvaluation,
    TumourResponse,
    build_adsl,
    build_adtte,
    evaluate_recist,
    planned_arms,
)
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.errors import NotFoundError, PermissionDenied, RecordError
from trialkit.protocol.forms import FormRole, Forms, declared, value_at
from trialkit.service.capture.clinical import latest_records_of, lesion_record
from trialkit.service.capture.edit_checks import all_dates
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.platform.policy import Action, authorize, can_see_arm
from trialkit.service.platform.principal import Grant, Principal
from trialkit.service.platform.tables.people import Role, RoleAssignment, User
from trialkit.service.randomisation.tables.randomisation import AllocationSlot, Randomisation
from trialkit.service.randomisation.tables.supply import Dispensing, InventoryKit, KitListEntry
from trialkit.service.screening.tables import (
    EligibilityEvaluation,
    Patient,
    ScreeningRecordVersion,
)
from trialkit.service.trials.tables import Country, Site, Trial
from trialkit.service.trials.trials import get_trial_or_raise, trial_protocol

__all__ = [
    "AnalysisDatasets",
    "DataIssue",
    "acting_user",
    "authorise_export",
    "derive_datasets",
    "patient_outcome",
    "patient_outcomes",
    "subjid",
    "trial_outcomes",
]


@dataclass(frozen=True)
class AnalysisDatasets:
    adsl: tuple[AdslRow, ...]
    adtte: tuple[AdtteRow, ...]
    unblinded: bool


@dataclass(frozen=True)
class DataIssue:
    """A recorded inconsistency of one patient, set aside in the analyses until it is resolved.

    ``field`` is the derivation input concerned (``new_therapy_date``); the edit checks have
    opened a query on the record itself. Never an arm.
    """

    usubjid: str
    field: str
    message: str

    @property
    def handling(self) -> str:
        """How the analyses treat the patient while the date is set aside (as
        :func:`_consistent` sets it aside)."""
        return _HANDLING.get(self.field, _HANDLING["assessments"])


# a date that contradicts randomisation (or death) is set aside, as if not yet recorded, so
# that one site's mistake cannot stop the trial's report, forecast or exports for everyone
_SET_ASIDE = ("death_date", "last_alive_date", "new_therapy_date", "progression_date")
_HANDLING = {
    "death_date": "death date set aside: the death is not counted (PFS, OS) until the date is "
    "corrected; the patient is censored at the last date known alive",
    "last_alive_date": "last date known alive set aside: OS is censored at randomisation",
    "new_therapy_date": "new therapy date set aside: PFS is not censored at a new anticancer "
    "therapy until the date is corrected",
    "progression_date": "progression date set aside: progression is read from the tumour "
    "assessments alone",
    "assessments": "tumour assessments set aside: no response or progression is read from them "
    "until they are corrected",
}


def _consistent(fields: dict[str, object], issues: list[DataIssue]) -> PatientOutcome:
    """The outcome, with each contradictory date set aside and listed in ``issues``."""
    for _ in range(len(_SET_ASIDE) + 2):
        try:
            return PatientOutcome(**fields)  # type: ignore[arg-type]
        except RecordError as exc:
            name = exc.location.rsplit(": ", 1)[-1]
            issues.append(DataIssue(str(fields["usubjid"]), name, exc.message))
            if name in _SET_ASIDE:
                fields[name] = fields["randomisation_date"] if name == "last_alive_date" else None
            else:  # the tumour assessments: set aside as a whole until the query is answered
                fields["assessments"], fields["progression_date"] = (), None
    raise AssertionError("unreachable: every inconsistency is set aside")  # pragma: no cover


#: per role, the SDTM variables that hold its date, in order of preference (a form that
#: declares none of them: its first date item)
_ROLE_DATE: dict[FormRole, tuple[str, ...]] = {
    "death": ("DM.DTHDTC", "DD.DDDTC", "DS.DSSTDTC"),  # the death role's form
    "last_known_alive": ("SS.SSDTC", "SV.SVSTDTC"),  # the last contact role's form
    "end_of_study": ("DS.DSSTDTC",),  # the end of study role's form
    "new_therapy": ("CM.CMSTDTC",),  # the new therapy role's form
}


def _role_dates(forms: Forms | None, records: list[CaptureRecord], role: FormRole) -> list[dt.date]:
    """The dates the records of the form playing ``role`` hold, by the item declared for it
    (:data:`_ROLE_DATE`), whatever the item is called."""
    form = None if forms is None else forms.role(role)
    path = None if forms is None or form is None else forms.date_path_of(form, *_ROLE_DATE[role])
    if path is None:
        return []
    days = (_day(value_at(r.data, path)) for r in records if r.form == form)
    return [d for d in days if d is not None]


def _role_value(
    forms: Forms | None, records: list[CaptureRecord], role: FormRole, variable: str
) -> object:
    """The value of the item declared ``variable`` in the record of the form playing ``role``."""
    form = None if forms is None else forms.role(role)
    record = next((r for r in records if r.form == form), None)
    if forms is None or form is None or record is None:
        return None
    path = forms.path_of(form, variable)
    return None if path is None else value_at(record.data, path)


def subjid(site: Site, patient: Patient) -> str:
    """The subject id within the study: the screening number, qualified by the site code.

    Screening numbers are unique within a site; a number that already begins with its site's
    code (``IT01-001``) is not qualified a second time.
    """
    number = patient.screening_number
    return number if number.startswith(f"{site.code}-") else f"{site.code}-{number}"


def usubjid(trial: Trial, site: Site, patient: Patient) -> str:
    """The unique subject id: study and the site-qualified subject id (``SOR-IT01-001``)."""
    return f"{trial.acronym}-{subjid(site, patient)}"


def _alpha3(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper())
    return code if country is None else str(country.alpha_3)


def _day(value: object) -> dt.date | None:
    """The day of an ISO 8601 date or date-time; ``None`` for none or a partial date (1955-06)."""
    try:
        return None if value is None else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _age(birth: object, on: dt.date) -> int | None:
    born = _day(birth)
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _exposure(
    forms: Forms | None, records: list[CaptureRecord]
) -> tuple[dt.date | None, dt.date | None]:
    """The first and last exposure to the study treatment: the earliest start and the latest
    end of the records of the forms declared ``sdtm_domain: EX``, by their items declared
    ``EX.EXSTDTC`` and ``EX.EXENDTC`` (a partial date gives no day). The last is unknown
    (``None``) while an exposure whose form records its end has none yet.

    Where the protocol gives a form the ``study_drug`` role (SOR's blinded sorafenib or
    placebo), only that form counts: the treated arm, the safety set (``SAFFL``) and
    ``TRTSDT`` follow the study drug, and a background therapy (docetaxel, letrozole) taken
    without it says nothing of the arm. Without that role (an open-label trial whose arms
    are the treatments, such as the tests' COLO), every exposure form counts."""
    if forms is None:
        return None, None
    starts: list[dt.date] = []
    ends: list[dt.date] = []
    ongoing = False
    study = forms.role("study_drug")
    exposures = [f for f in forms.forms if f.sdtm_domain == "EX"]
    for form in (f for f in exposures if study is None or f.name == study):
        records_end = forms.path_of(form.name, "EX.EXENDTC") is not None
        for record in (r for r in records if r.form == form.name):
            row = declared(forms, form, record.data, "EX")
            start, end = _day(row.get("EXSTDTC")), _day(row.get("EXENDTC"))
            if start is None:
                continue
            starts.append(start)
            if end is not None:
                ends.append(end)
            ongoing |= records_end and end is None
    return min(starts, default=None), None if ongoing else max(ends, default=None)


def _demographics(forms: Forms | None, screening: Mapping[str, object]) -> tuple[str, object]:
    """SEX (``F``, ``M``; ``U`` when not recorded) and BRTHDTC from the screening record, by
    the screening form's items declared ``DM.SEX`` and ``DM.BRTHDTC``."""
    form = None if forms is None else forms.screening
    if forms is None or form is None:
        return "U", None
    row = declared(forms, form, dict(screening), "DM")
    sex = row.get("SEX")
    return (str(sex) if sex in ("F", "M") else "U"), row.get("BRTHDTC")


def patient_outcome(
    session: Session, patient: Patient, *, with_arm: bool = False
) -> PatientOutcome | None:
    """The derivation input of one patient, or ``None`` if not randomised.

    :func:`trial_outcomes` restricted to this patient (the same statements, one patient); a
    recorded inconsistency raises :class:`~trialkit.errors.RecordError` naming it.
    """
    trial = session.get(Trial, patient.trial_id)
    site = session.get(Site, patient.site_id)
    assert trial is not None
    assert site is not None
    issues: list[DataIssue] = []
    found = trial_outcomes(
        session, trial, {site.id: site}, with_arm=with_arm, patient_id=patient.id, issues=issues
    )
    if issues:  # one patient's own view says what contradicts what, rather than set it aside
        first = issues[0]
        raise RecordError(first.message, location=f"patient {first.usubjid}: {first.field}")
    return found[patient.id][0] if patient.id in found else None


def _outcome(
    trial: Trial,
    site: Site,
    patient: Patient,
    records: list[CaptureRecord],
    *,
    evaluation: RecistEvaluation | None,
    randomised_on: dt.date,
    strata: tuple[str | None, str | None],
    demographics: tuple[Mapping[str, object], str | None],
    arm: str | None,
    kit_arms: tuple[str, ...],
    issues: list[DataIssue],
    forms: Forms | None,
) -> PatientOutcome:
    """``demographics``: the screening record and the site's country; ``forms``: the
    protocol's form definitions."""
    roles = {} if forms is None else forms.roles
    death = min(_role_dates(forms, records, "death"), default=None)
    alive = max(_role_dates(forms, records, "last_known_alive"), default=None)
    if alive is None:
        death_form = roles.get("death")
        seen = [d for r in records if r.form != death_form for _, d in all_dates(r.data)]
        alive = max(seen, default=randomised_on)
    first_dose, last_dose = _exposure(forms, records)
    sex, birth = _demographics(forms, demographics[0])
    fields: dict[str, object] = {
        "usubjid": usubjid(trial, site, patient),
        "stratum": strata[0],
        "background_therapy": strata[1],
        "randomisation_date": randomised_on,
        "assessments": tuple(
            TumourResponse(t.date, t.overall_response)
            for t in (evaluation.assessments if evaluation else ())
        ),
        "baseline_assessed": evaluation is not None,
        "progression_date": evaluation.date_of_progression if evaluation else None,
        "death_date": death,
        "death_cause": _role_value(forms, records, "death", "DD.DDORRES"),
        "last_alive_date": max(alive, randomised_on),
        "new_therapy_date": min(_role_dates(forms, records, "new_therapy"), default=None),
        "end_of_study": min(_role_dates(forms, records, "end_of_study"), default=None),
        "siteid": site.code,
        "first_dose_date": first_dose,
        "last_dose_date": last_dose,
        "sex": sex,
        "age": _age(birth, randomised_on),
        "country": demographics[1],
        "arm": arm,
        "kit_arms": kit_arms,
    }
    return _consistent(fields, issues)


def trial_outcomes(
    session: Session,
    trial: Trial,
    sites: Mapping[int, Site] | None = None,
    *,
    with_arm: bool = False,
    patient_id: int | None = None,
    issues: list[DataIssue] | None = None,
) -> dict[int, tuple[PatientOutcome, list[CaptureRecord]]]:
    """The outcome of every randomised patient of ``trial`` in a fixed few queries.

    Returns patient id -> (outcome, the patient's latest records), in patient id order.
    ``sites`` maps the site id of every patient to its site (default: the trial's sites, read
    in one more query); ``patient_id`` restricts the result to that patient. The queries are the
    same whatever the number of patients (the report, the forecast and the exports read 200
    patients without 1,000 statements). Callers authorise ``with_arm``. A recorded date that
    contradicts the randomisation (a new therapy dated 0001-01-01) is set aside for that patient
    and appended to ``issues`` (:class:`DataIssue`): it never fails the whole trial's outputs.
    """
    found: list[DataIssue] = [] if issues is None else issues
    in_trial = select(Patient.id).where(Patient.trial_id == trial.id)
    if patient_id is not None:
        in_trial = in_trial.where(Patient.id == patient_id)
    if sites is None:
        sites = {s.id: s for s in session.scalars(select(Site).where(Site.trial_id == trial.id))}
    randomisations = {
        row.patient_id: row
        for row in session.execute(
            select(
                Randomisation.patient_id,
                Randomisation.enrolment_date,
                Randomisation.stratum,
                Randomisation.background_therapy,
                ScreeningRecordVersion.data,
                Country.code.label("country"),
            )
            .join(Site, Site.id == Randomisation.site_id)
            .join(Country, Country.id == Site.country_id)
            .join(
                EligibilityEvaluation,
                EligibilityEvaluation.id == Randomisation.eligibility_evaluation_id,
            )
            .join(
                ScreeningRecordVersion,
                ScreeningRecordVersion.id == EligibilityEvaluation.screening_record_id,
            )
            .where(Randomisation.patient_id.in_(in_trial.scalar_subquery()))
        )
    }
    arms: dict[int, str] = {}
    kit_arms: dict[int, set[str]] = {}
    if with_arm:
        # the randomised arm and the arm of each kit dispensed, in one statement
        rows = session.execute(
            select(Randomisation.patient_id, AllocationSlot.arm, KitListEntry.arm)
            .join(AllocationSlot, AllocationSlot.id == Randomisation.slot_id)
            .outerjoin(Dispensing, Dispensing.patient_id == Randomisation.patient_id)
            .outerjoin(InventoryKit, InventoryKit.id == Dispensing.kit_id)
            .outerjoin(
                KitListEntry,
                (KitListEntry.trial_id == InventoryKit.trial_id)
                & (KitListEntry.number == InventoryKit.number),
            )
            .where(Randomisation.patient_id.in_(in_trial.scalar_subquery()))
        )
        for who, arm, kit_arm in rows:
            arms[who] = arm
            if kit_arm is not None:
                kit_arms.setdefault(who, set()).add(kit_arm)
    records_of = latest_records_of(session, in_trial)
    patients = session.scalars(
        select(Patient).where(Patient.id.in_(list(randomisations))).order_by(Patient.id)
    )
    protocol = trial_protocol(trial)
    criteria = protocol.response or DEFAULT_CRITERIA
    roles = {} if protocol.forms is None else protocol.forms.roles
    result: dict[int, tuple[PatientOutcome, list[CaptureRecord]]] = {}
    for patient in patients:
        row = randomisations[patient.id]
        records = records_of.get(patient.id, [])
        lesions, _ = lesion_record(records, row.enrolment_date, roles)
        site = sites[patient.site_id]
        outcome = _outcome(
            trial,
            site,
            patient,
            records,
            evaluation=None if lesions is None else evaluate_recist(lesions, criteria),
            randomised_on=row.enrolment_date,
            strata=(row.stratum, row.background_therapy),
            demographics=(row.data or {}, _alpha3(row.country)),
            arm=arms.get(patient.id) if with_arm else None,
            kit_arms=tuple(sorted(kit_arms.get(patient.id, ()))),
            issues=found,
            forms=protocol.forms,
        )
        result[patient.id] = (outcome, records)
    return result


def authorise_export(
    *, session: Session, actor: Principal, trial_id: int, unblinded: bool = False
) -> Trial:
    """The trial, if ``actor`` may export its data (and see its arms, when ``unblinded``)."""
    trial = get_trial_or_raise(session, trial_id)
    grant = authorize(actor, Action.EXPORT_DATA, trial_id=trial.id)
    if unblinded and not any(
        can_see_arm(g.role) for g in actor.grants if g.trial_id in (None, trial.id)
    ):
        raise PermissionDenied(
            f"{actor.username} ({grant.role.value}) may not see arms: unblinded datasets need "
            "an unblinded statistician or DSMB member"
        )
    return trial


def patient_outcomes(
    *, session: Session, actor: Principal, trial_id: int, unblinded: bool = False
) -> list[PatientOutcome]:
    """Every randomised patient's derivation input (the arm only for unblinded callers)."""
    trial = authorise_export(session=session, actor=actor, trial_id=trial_id, unblinded=unblinded)
    outcomes = trial_outcomes(session, trial, with_arm=unblinded)
    return [outcome for outcome, _ in outcomes.values()]


def derive_datasets(
    *,
    session: Session,
    actor: Principal,
    trial_id: int,
    unblinded: bool = False,
    rules: str = "fda",
) -> AnalysisDatasets:
    """ADSL and ADTTE (PFS, TTP, OS, DoR) for the trial, under FDA 2018 or EMA 2012 censoring."""
    outcomes = patient_outcomes(
        session=session, actor=actor, trial_id=trial_id, unblinded=unblinded
    )
    trial = get_trial_or_raise(session, trial_id)
    protocol = trial_protocol(trial)
    censoring = (
        CensoringRules.ema(protocol.schedule)
        if rules == "ema"
        else CensoringRules.fda(protocol.schedule)
    )
    arms = planned_arms(protocol.arms)
    return AnalysisDatasets(
        adsl=build_adsl(outcomes, studyid=trial.acronym, unblinded=unblinded, arms=arms),
        adtte=build_adtte(
            outcomes,
            studyid=trial.acronym,
            rules=censoring,
            criteria=protocol.response or DEFAULT_CRITERIA,
            unblinded=unblinded,
            arms=arms,
        ),
        unblinded=unblinded,
    )


def acting_user(*, session: Session, username: str, request_id: str | None = None) -> Principal:
    """The command-line operator acting as a named user, with that user's active roles.

    The operator holds the database credentials, so this is no authentication: it decides what
    the user's roles allow (an unblinded export needs an unblinded role) and whom the audit
    trail names.
    """
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user {username!r}", location="--user")
    assignments = session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id, RoleAssignment.revoked_at.is_(None)
        )
    ).all()
    grants = tuple(
        Grant(role=Role(a.role), trial_id=a.trial_id, site_id=a.site_id, assignment_id=a.id)
        for a in assignments
    )
    return Principal(user_id=user.id, username=user.username, grants=grants, request_id=request_id)
