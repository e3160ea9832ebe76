"""SDTM domains of the captured data (SDTMIG 3.3): DM, DS, EX, AE, TU, TR, RS.

Each domain's variables, labels and codelists are those of :mod:`.sdtm_spec`. Forms are read
from the protocol's definitions, never by name: by the SDTM variables their items declare, the
forms' roles and ``sdtm_domain``. A blinded export has no arm variables and names the study drug
by the arms together with no dose.

Details and reasoning: docs/forms.md, section "SDTM from the definitions", and docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialkit.endpoints import PatientOutcome, PlannedArm, actual_arm, evaluate_recist, planned_arms
from trialkit.endpoints.recist import DEFAULT_CRITERIA
from trialkit.protocol.forms import Form as FormDefinition
from trialkit.protocol.forms import FormRole, Forms, declared, sdtm_value, value_at
from trialkit.protocol.model import Protocol, ResponseCriteria
from trialkit.service.capture.clinical import lesion_record, tumour_forms
from trialkit.service.capture.outcomes import authorise_export, subjid, trial_outcomes
from trialkit.service.capture.tables import CaptureRecord
from trialkit.service.oversight import sdtm_spec as cdisc
from trialkit.service.platform.principal import Principal
from trialkit.service.screening.tables import Consent, Patient
from trialkit.service.trials.tables import Site, Trial
from trialkit.service.trials.trials import trial_protocol

__all__ = ["ARM_VARIABLES", "Domain", "sdtm_domains"]

Value = str | int | float | None
Row = dict[str, Value]
ARM_VARIABLES = ("ARMCD", "ARM", "ACTARMCD", "ACTARM", "ARMNRS")
"""The DM variables that name an arm: only unblinded exports have them."""


@dataclass(frozen=True)
class Domain:
    """One SDTM domain: its two-letter name, its label, columns and rows, and its metadata."""

    name: str
    label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]

    @property
    def spec(self) -> cdisc.DomainSpec:
        return cdisc.DOMAINS[self.name]

    def variables(self) -> tuple[cdisc.Variable, ...]:
        """The metadata of the columns, in column order."""
        return tuple(self.spec.variable(c) for c in self.columns)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _of_role(
    forms: Forms | None, records: list[CaptureRecord], role: FormRole
) -> tuple[FormDefinition | None, list[CaptureRecord]]:
    """The form playing ``role`` (``forms.roles``) and the patient's records of it."""
    name = None if forms is None else forms.role(role)
    if forms is None or name is None:
        return None, []
    return forms.form(name), [r for r in records if r.form == name]


def _end_of_treatment(forms: Forms | None, records: list[CaptureRecord]) -> dt.date | None:
    form, found = _of_role(forms, records, "end_of_treatment")
    if forms is None or form is None:
        return None
    day = next((declared(forms, form, r.data, "DS").get("DSSTDTC") for r in found), None)
    return None if day is None else dt.date.fromisoformat(str(day)[:10])


class _Epochs:
    """EPOCH of a date: SCREENING before randomisation, TREATMENT up to the end of treatment,
    FOLLOW-UP after it."""

    def __init__(self, randomised_on: dt.date, end_of_treatment: dt.date | None) -> None:
        self.randomised_on = randomised_on
        self.end_of_treatment = end_of_treatment

    def __call__(self, when: Any) -> str | None:
        if when is None:
            return None
        day = dt.date.fromisoformat(str(when)[:10])
        if day < self.randomised_on:
            return "SCREENING"
        if self.end_of_treatment is not None and day > self.end_of_treatment:
            return "FOLLOW-UP"
        return "TREATMENT"


def _patients(session: Session, trial: Trial) -> Iterator[tuple[Patient, Site]]:
    rows = session.execute(
        select(Patient, Site)
        .join(Site, Site.id == Patient.site_id)
        .where(Patient.trial_id == trial.id)
        .order_by(Patient.id)
    ).all()
    yield from ((patient, site) for patient, site in rows)


def _consent_dates(session: Session, trial: Trial) -> dict[int, dt.date]:
    """Patient id -> the consent date of the latest consent version."""
    in_trial = select(Patient.id).where(Patient.trial_id == trial.id).scalar_subquery()
    rows = session.execute(
        select(Consent.patient_id, Consent.consent_date)
        .where(Consent.patient_id.in_(in_trial))
        .order_by(Consent.patient_id, Consent.version)
    )
    return {patient_id: day for patient_id, day in rows}  # noqa: C416 (rows, not pairs)


def sdtm_domains(
    *, session: Session, actor: Principal, trial_id: int, unblinded: bool = False
) -> list[Domain]:
    """The SDTM domains of every randomised patient (authorised as a data export).

    All patients are read in a fixed few statements (:func:`.outcomes.trial_outcomes`).
    """
    trial = authorise_export(session=session, actor=actor, trial_id=trial_id, unblinded=unblinded)
    outcomes = trial_outcomes(session, trial, with_arm=unblinded)
    protocol = trial_protocol(trial)
    criteria = protocol.response or DEFAULT_CRITERIA
    arms = planned_arms(protocol.arms)
    consents = _consent_dates(session, trial)
    out: dict[str, list[Row]] = {name: [] for name in cdisc.DOMAINS}
    for patient, site in _patients(session, trial):
        if patient.id not in outcomes:
            continue  # not randomised: nothing captured
        outcome, records = outcomes[patient.id]
        base: Row = {"STUDYID": trial.acronym, "USUBJID": outcome.usubjid}
        epoch = _Epochs(outcome.randomisation_date, _end_of_treatment(protocol.forms, records))
        out["DM"].append(
            base
            | _dm(outcome, records, subjid(site, patient), consents.get(patient.id))
            | (_dm_arms(outcome, arms) if unblinded else {})
        )
        consented = consents.get(patient.id)
        out["DS"] += [base | r for r in _ds(protocol.forms, outcome, records, consented, epoch)]
        out["EX"] += [base | r for r in _ex(protocol, outcome, records, unblinded, epoch)]
        out["AE"] += [base | r for r in _ae(protocol.forms, records, epoch)]
        tumour = _tumour_domains(
            protocol.forms, records, outcome.randomisation_date, criteria, epoch
        )
        for name, rows in tumour.items():
            out[name] += [base | r for r in rows]
    domains = []
    for name, spec in cdisc.DOMAINS.items():
        columns = tuple(
            v.name
            for v in spec.variables
            if unblinded or name != "DM" or v.name not in ARM_VARIABLES
        )
        table: list[tuple[Value, ...]] = []
        for k, row in enumerate(out[name], 1):
            # --SEQ: unique within USUBJID; numbered across the domain in export order
            full = row | {"DOMAIN": name} | ({} if name == "DM" else {f"{name}SEQ": k})
            table.append(tuple(full.get(c) for c in columns))
        domains.append(Domain(name, spec.label, columns, tuple(table)))
    return domains


def _dm(
    outcome: PatientOutcome,
    records: list[CaptureRecord],
    subject: str,
    consented: dt.date | None,
) -> Row:
    died = outcome.death_date
    ends = [d for d in (outcome.end_of_study, died, outcome.last_alive_date) if d is not None]
    first_dose = _text(outcome.first_dose_date)
    last_dose = _text(outcome.last_dose_date)
    return {
        "SUBJID": subject,
        "RFSTDTC": first_dose,
        "RFENDTC": last_dose,
        "RFXSTDTC": first_dose,
        "RFXENDTC": last_dose,
        "RFICDTC": _text(consented),
        "RFPENDTC": _text(outcome.end_of_study or died or max(ends, default=None)),
        "DTHDTC": _text(died),
        "DTHFL": "Y" if died else None,
        "SITEID": outcome.siteid,
        "AGE": outcome.age,
        "AGEU": None if outcome.age is None else "YEARS",
        "SEX": outcome.sex or "U",
        "RACE": None,
        "COUNTRY": outcome.country,
    }


def _dm_arms(outcome: PatientOutcome, arms: Mapping[str, PlannedArm]) -> Row:
    planned = arms.get(outcome.arm or "")
    actual = actual_arm(outcome, True, arms)
    return {
        "ARMCD": None if planned is None else planned.code,
        "ARM": None if planned is None else planned.name,
        "ACTARMCD": None if actual is None else actual.code,
        "ACTARM": None if actual is None else actual.name,
        "ARMNRS": None
        if actual is not None
        else "ASSIGNED, NOT TREATED"
        if outcome.first_dose_date is None
        else "UNPLANNED TREATMENT",
    }


def _ds(
    forms: Forms | None,
    outcome: PatientOutcome,
    records: list[CaptureRecord],
    consented: dt.date | None,
    epoch: _Epochs,
) -> list[Row]:
    rows: list[Row] = []

    def add(term: str, decod: str, category: str, sub: str | None, when: Any) -> None:
        rows.append(
            {
                "DSTERM": term,
                "DSDECOD": decod,
                "DSCAT": category,
                "DSSCAT": sub,
                "EPOCH": epoch(when),
                "DSSTDTC": _text(when),
            }
        )

    if consented is not None:
        milestone = "INFORMED CONSENT OBTAINED"
        add(milestone, milestone, "PROTOCOL MILESTONE", None, consented)
    add("RANDOMIZED", "RANDOMIZED", "PROTOCOL MILESTONE", None, outcome.randomisation_date)
    ended = False
    terms = cdisc.CODELISTS["DSDECOD"].terms
    role: FormRole
    for role in ("end_of_treatment", "end_of_study"):
        form, found = _of_role(forms, records, role)
        if forms is None or form is None:
            continue
        for r in found:
            # by the items' declared names: the reason's code list gives its DSDECOD
            row = declared(forms, form, r.data, "DS")
            recorded = row.get("DSDECOD")
            decod = str(recorded) if recorded in terms else "OTHER"
            verbatim = row.get("DSTERM") or (decod if recorded is not None else None)
            sub = role.upper().replace("_", " ")
            add(
                str(verbatim or "REASON NOT RECORDED"),
                decod,
                "DISPOSITION EVENT",
                sub,
                row.get("DSSTDTC"),
            )
            ended |= role == "end_of_study"
    if outcome.death_date is not None and not ended:
        add("DEATH", "DEATH", "DISPOSITION EVENT", "END OF STUDY", outcome.death_date)
    return rows


def _ex(
    protocol: Protocol,
    outcome: PatientOutcome,
    records: list[CaptureRecord],
    unblinded: bool,
    epoch: _Epochs,
) -> list[Row]:
    """EX rows from every form declared ``sdtm_domain: EX``, in the file's order: dates and
    dose by the items' declared names, the treatment by the form's ``treatment``."""
    forms = protocol.forms
    if forms is None:
        return []
    study_drug = forms.role("study_drug")
    therapy = protocol.background_therapy
    regimens = {r.id: r for r in (therapy.regimens if therapy else ())}
    rows: list[Row] = []
    for form in forms.forms:
        if form.sdtm_domain != "EX":
            continue
        treatment = form.treatment
        dose_unit = next(
            (i.unit for i in form.items if i.sdtm == "EX.EXDOSE" and i.type != "group"), None
        )
        fixed: Row = {"EXDOSFRM": None if treatment is None else treatment.dose_form}
        single_day = False
        if form.name == study_drug:
            fixed |= _arms_treatment(protocol, outcome, unblinded)
        elif treatment is not None:
            regimen = regimens.get(treatment.regimen or "")
            name = treatment.name if regimen is None else regimen.drug
            fixed |= {
                "EXTRT": None if name is None else name.upper(),
                "EXDOSFRQ": treatment.frequency
                or (cdisc.FREQUENCY.get(regimen.frequency) if regimen else None),
                "EXROUTE": treatment.route or (cdisc.ROUTE.get(regimen.route) if regimen else None),
            }
            # a cycled regimen is given on one day of its cycle: that day starts and ends it
            single_day = regimen is not None and regimen.cycle_days is not None
        for r in (r for r in records if r.form == form.name):
            row = declared(forms, form, r.data, "EX")
            start = row.get("EXSTDTC")
            given: Row = {}
            if form.name != study_drug:  # the dose recorded (the study drug's is its arm's)
                dose = row.get("EXDOSE")
                given = (
                    {"EXDOSE": float(dose), "EXDOSU": dose_unit}
                    if isinstance(dose, int | float)
                    else {"EXDOSE": None, "EXDOSU": None}
                )
            end = row.get("EXENDTC", start if single_day else None)
            rows.append(fixed | given | {"EPOCH": epoch(start), "EXSTDTC": start, "EXENDTC": end})
    return rows


def _arms_treatment(protocol: Protocol, outcome: PatientOutcome, unblinded: bool) -> Row:
    """The study drug's EXTRT, dose and dosing from the patient's arm; blinded, one name for
    the arms together and no dose, the frequency and route only if every arm shares them
    (matching placebo)."""
    by_id = {a.id: a for a in protocol.arms}
    arm = by_id.get(outcome.arm or "") if unblinded else None
    if arm is None:
        first = protocol.arms[0]
        shared = (
            len({a.doses_per_day for a in protocol.arms}) == 1
            and len({a.route for a in protocol.arms}) == 1
        )
        return {
            "EXTRT": "/".join(a.label.upper() for a in protocol.arms),
            "EXDOSE": None,
            "EXDOSU": None,
            "EXDOSFRQ": _frequency(first.doses_per_day) if shared else None,
            "EXROUTE": cdisc.ROUTE.get(first.route) if shared else None,
        }
    dose = arm.dose_mg
    return {
        "EXTRT": arm.label.upper(),
        "EXDOSE": None if dose is None else float(dose),
        "EXDOSU": None if dose is None else "mg",
        "EXDOSFRQ": _frequency(arm.doses_per_day),
        "EXROUTE": cdisc.ROUTE.get(arm.route),
    }


def _frequency(doses_per_day: int) -> str | None:
    return {1: "QD", 2: "BID"}.get(doses_per_day)


def _ae(forms: Forms | None, records: list[CaptureRecord], epoch: _Epochs) -> list[Row]:
    """AE rows from every form declared as the AE domain, mapped by its items' SDTM names."""
    by_name = {f.name: f for f in (forms.forms if forms else ()) if f.sdtm_domain == "AE"}
    rows: list[Row] = []
    for r in records:
        form = by_name.get(r.form)
        if form is None or forms is None:
            continue
        row = declared(forms, form, r.data, "AE")
        ongoing = next((value_at(r.data, p) for p, i in form.walk() if i.cdash == "AEONGO"), None)
        if row.get("AETOXGR") == "5":
            outcome: str | None = "FATAL"
        elif row.get("AEENDTC"):
            outcome = "RECOVERED/RESOLVED"
        elif ongoing:
            outcome = "NOT RECOVERED/NOT RESOLVED"
        else:
            outcome = None
        derived: Row = {"AESPID": r.record_key, "AEOUT": outcome}
        derived["EPOCH"] = epoch(row.get("AESTDTC"))
        rows.append(derived | row)
    return rows


def _lesion_method(
    forms: Forms, baseline: FormDefinition, group: str
) -> Callable[[Any], str | None]:
    """A lesion's method as TUMETHOD: the submission value of the code the ``TU.TUMETHOD`` item
    of its group of the baseline form records (the item's default when none is recorded)."""
    item = next(
        (i for p, i in baseline.walk() if i.sdtm == "TU.TUMETHOD" and p.startswith(f"{group}.")),
        None,
    )

    def method(value: Any) -> str | None:
        if item is None:
            return None
        found = item.default if value is None else value
        return None if found is None else _text(sdtm_value(forms, item, found))

    return method


def _tumour_domains(
    forms: Forms | None,
    records: list[CaptureRecord],
    randomised_on: dt.date,
    criteria: ResponseCriteria,
    epoch: _Epochs,
) -> dict[str, list[Row]]:
    """TU (lesions identified), TR (their measurements and the sums) and RS (RECIST 1.1), from
    the forms playing the tumour roles: their records are RECIST's input (lesions ``target`` and
    ``non_target`` with ``id``, ``organ``, ``lymph_node``, ``diameter_mm``, ``method``)."""
    out: dict[str, list[Row]] = {"TU": [], "TR": [], "RS": []}
    roles = {} if forms is None else forms.roles
    first, later = tumour_forms(roles)
    baseline = next((r for r in records if r.form == first), None)
    if forms is None or baseline is None:
        return out
    when = _text(baseline.data.get("date"))
    targets = list(baseline.data.get("target", []))
    lesions = [("TARGET", x) for x in targets]
    lesions += [("NON-TARGET", x) for x in baseline.data.get("non_target", [])]
    nodal = {x["id"] for x in targets if x.get("lymph_node")}
    method = {
        kind: _lesion_method(forms, forms.form(first), group)
        for kind, group in (("TARGET", "target"), ("NON-TARGET", "non_target"))
    }
    methods = {x["id"]: method[kind](x.get("method")) for kind, x in lesions}
    evaluation: Row = {
        "TUTESTCD": "TUMIDENT",
        "TUTEST": "Tumor Identification",
        "TUEVAL": "INVESTIGATOR",
    }
    for kind, lesion in lesions:
        out["TU"].append(
            evaluation
            | {
                "TULNKID": lesion["id"],
                "TUORRES": kind,
                "TUSTRESC": kind,
                "TULOC": str(lesion["organ"]).upper(),
                "TUMETHOD": methods[lesion["id"]],
                "EPOCH": epoch(when),
                "TUDTC": when,
            }
        )

    def measure(lesion_id: str | None, code: str, text: str, number: float | None, on: Any) -> None:
        test = {"LDIAM": "Longest Diameter", "SAXIS": "Short Axis", "SUMDIAM": "Sum of Diameter"}
        unit = None if number is None else "mm"
        out["TR"].append(
            {
                "TRLNKID": lesion_id,
                "TRTESTCD": code,
                "TRTEST": test.get(code, "Tumor State"),
                "TRORRES": text,
                "TRORRESU": unit if code != "TUMSTATE" else None,
                "TRSTRESC": text if number is None else f"{number:g}",
                "TRSTRESN": number,
                "TRSTRESU": unit,
                "TRMETHOD": None if lesion_id is None else methods.get(lesion_id),
                "TREVAL": "INVESTIGATOR",
                "EPOCH": epoch(on),
                "TRDTC": _text(on),
            }
        )

    def diameter(lesion_id: str) -> str:
        return "SAXIS" if lesion_id in nodal else "LDIAM"

    for lesion in targets:
        mm = float(lesion["diameter_mm"])
        measure(lesion["id"], diameter(lesion["id"]), f"{mm:g}", mm, when)
    if targets:
        total = sum(float(x["diameter_mm"]) for x in targets)
        measure(None, "SUMDIAM", f"{total:g}", total, when)
    recist_input, _ = lesion_record(records, randomised_on, roles)
    result = None if recist_input is None else evaluate_recist(recist_input, criteria)
    sums = {t.date.isoformat(): t.target.sum_mm for t in (result.assessments if result else ())}
    scans = sorted(
        (r for r in records if r.form == later and r.data.get("date")),
        key=lambda r: str(r.data["date"]),
    )
    new = 0
    for r in scans:
        on = str(r.data["date"])
        for lesion_id, value in r.data.get("target", {}).items():
            if value == "too_small":
                measure(lesion_id, diameter(lesion_id), "TOO SMALL TO MEASURE", 5.0, on)
            elif value is not None:
                mm = float(value)
                measure(lesion_id, diameter(lesion_id), f"{mm:g}", mm, on)
        if sums.get(on) is not None:
            total = float(sums[on] or 0.0)
            measure(None, "SUMDIAM", f"{total:g}", total, on)
        for lesion_id, state in r.data.get("non_target", {}).items():
            if state is not None:
                measure(lesion_id, "TUMSTATE", state.upper().replace("_", " "), None, on)
        if r.data.get("new_lesions") and not r.data.get("new_lesions_equivocal"):
            new += 1
            out["TU"].append(
                evaluation
                | {
                    "TULNKID": f"NEW{new}",
                    "TUORRES": "NEW",
                    "TUSTRESC": "NEW",
                    "TULOC": None,
                    "TUMETHOD": None,
                    "EPOCH": epoch(on),
                    "TUDTC": on,
                }
            )
    if result is None:
        return out
    names = {
        "TRGRESP": "Target Response",
        "NTRGRESP": "Non-target Response",
        "OVRLRESP": "Overall Response",
        "BESTRESP": "Best Overall Response",
    }

    def respond(code: str, response: str, on: Any) -> None:
        if response == "NA":
            return  # not applicable (no lesion of that kind): no record
        value = cdisc.RESPONSE.get(response, response)
        out["RS"].append(
            {
                "RSTESTCD": code,
                "RSTEST": names[code],
                "RSCAT": criteria.criteria,
                "RSORRES": value,
                "RSSTRESC": value,
                "RSEVAL": "INVESTIGATOR",
                "EPOCH": epoch(on),
                "RSDTC": _text(on),
            }
        )

    for t in result.assessments:
        respond("TRGRESP", t.target.response, t.date)
        respond("NTRGRESP", t.non_target_response, t.date)
        respond("OVRLRESP", t.overall_response, t.date)
    respond("BESTRESP", result.best.response, result.best.date)
    return out
