"""The screening record: what an investigator records at screening.

Every field is optional and ``None`` means *not recorded*. Absence is never read
as "no": a patient without an adjuvant taxane records
``prior_therapies.adjuvant_taxane = {"received": false}``, and a criterion whose
data are absent evaluates to ``unknown``. Dated events use ``occurred``/``used``
flags for the same reason. Windows are measured from
``planned_randomisation_date``.

Lab values carry their unit and, where a criterion is relative to it, the local
upper limit of normal; :mod:`trialkit.eligibility.units` converts them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trialkit.errors import RecordError

__all__ = [
    "Anticoagulation",
    "BloodPressure",
    "Body",
    "Brain",
    "Cardiac",
    "Consent",
    "Disease",
    "Event",
    "Exposure",
    "Fsh",
    "GradedEvent",
    "Her2",
    "Histology",
    "History",
    "InvestigationalDrug",
    "Lab",
    "Labs",
    "Menopause",
    "OtherCancer",
    "Patient",
    "PregnancyTest",
    "PriorTherapies",
    "PriorTherapy",
    "Radiotherapy",
    "Receptors",
    "Reproductive",
    "ScreeningRecord",
    "parse_record",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Patient(_Part):
    sex: Literal["female", "male"] | None = None
    date_of_birth: dt.date | None = None


class Histology(_Part):
    confirmed: bool | None = Field(
        default=None, description="Histologically or cytologically confirmed"
    )
    method: Literal["histological", "cytological"] | None = None
    type: Literal["adenocarcinoma", "other"] | None = None


class Brain(_Part):
    metastases: Literal["none", "active", "treated"] | None = None
    neurological_symptoms: bool | None = None
    imaging_date: dt.date | None = Field(
        default=None, description="Contrast CT or MRI of the brain"
    )
    evidence_of_disease: bool | None = Field(default=None, description="For treated metastases")
    therapy_end_date: dt.date | None = Field(
        default=None,
        description="End of definitive therapy for brain metastases, steroids included",
    )


class Disease(_Part):
    extent: Literal["locally_recurrent", "metastatic"] | None = None
    measurability: Literal["measurable", "evaluable", "none"] | None = None
    resectable_with_curative_intent: bool | None = Field(
        default=None, description="For locally recurrent disease"
    )
    bone: bool | None = None
    soft_tissue: bool | None = None
    visceral: bool | None = Field(default=None, description="Any visceral lesion, liver included")
    liver: bool | None = None
    brain: Brain | None = None
    scan_dates: list[dt.date] | None = Field(
        default=None, description="Dates of all scans documenting measurable or evaluable disease"
    )


class Her2(_Part):
    ihc: Literal["0", "1+", "2+", "3+", "not_done"] | None = None
    fish: Literal["amplified", "not_amplified", "not_done"] | None = None


class Receptors(_Part):
    er: Literal["positive", "negative", "unknown"] | None = None
    pgr: Literal["positive", "negative", "unknown"] | None = None
    her2: Her2 | None = None


class Lab(_Part):
    """A lab result with its unit and, where needed, the local reference limits."""

    value: float = Field(ge=0)
    unit: str
    uln: float | None = Field(default=None, gt=0, description="Upper limit of normal, same unit")
    lln: float | None = Field(default=None, ge=0, description="Lower limit of normal, same unit")
    date: dt.date | None = None


class Fsh(_Part):
    value: float = Field(ge=0)
    unit: str
    postmenopausal_min: float = Field(
        gt=0, description="Lower limit of the local postmenopausal range"
    )
    date: dt.date | None = None


class Labs(_Part):
    haemoglobin: Lab | None = None
    anc: Lab | None = None
    platelets: Lab | None = None
    bilirubin: Lab | None = None
    alt: Lab | None = None
    ast: Lab | None = None
    inr: Lab | None = None
    aptt: Lab | None = None
    creatinine: Lab | None = None


class Menopause(_Part):
    bilateral_oophorectomy: bool | None = None
    hysterectomy: bool | None = None
    months_since_last_menses: int | None = Field(default=None, ge=0)
    gonadotropin_suppression: bool | None = None
    fsh: Fsh | None = None
    ovarian_ablation: Literal["undergoing", "willing", "unwilling", "not_applicable"] | None = (
        Field(default=None, description="Pharmacological ovarian ablation")
    )


class PriorTherapy(_Part):
    received: bool | None = None
    end_date: dt.date | None = None


class Radiotherapy(_Part):
    received: bool | None = None
    end_date: dt.date | None = None
    acute_toxicity_recovered: bool | None = None
    only_site_of_disease: bool | None = Field(
        default=None, description="Previously radiated areas are the only site of disease"
    )
    marrow_percent: float | None = Field(
        default=None, ge=0, le=100, description="Share of bone-marrow-producing areas radiated"
    )


class InvestigationalDrug(_Part):
    received: bool | None = None
    last_dose_date: dt.date | None = None
    half_life_days: float | None = Field(default=None, gt=0)


class Exposure(_Part):
    used: bool | None = None
    last_use_date: dt.date | None = None
    ongoing: bool | None = None


class PriorTherapies(_Part):
    adjuvant_taxane: PriorTherapy | None = Field(
        default=None, description="Adjuvant or neoadjuvant"
    )
    other_adjuvant_chemotherapy: PriorTherapy | None = None
    adjuvant_aromatase_inhibitor: PriorTherapy | None = None
    adjuvant_tamoxifen: PriorTherapy | None = None
    radiotherapy: Radiotherapy | None = None
    advanced_disease_therapy: bool | None = Field(
        default=None,
        description="Any chemotherapy or endocrine therapy for locally recurrent or "
        "metastatic disease",
    )
    anti_vegf: bool | None = Field(default=None, description="Any agent targeting VEGF or VEGFR")
    investigational_drug: InvestigationalDrug | None = None
    st_johns_wort_or_rifampin: Exposure | None = None
    enzyme_inducing_antiepileptic: bool | None = Field(
        default=None, description="Cytochrome P450 enzyme-inducing anti-epileptic drug in use"
    )


class Anticoagulation(_Part):
    agent: Literal["none", "warfarin", "heparin", "lmwh", "doac", "other"] | None = None


class PregnancyTest(_Part):
    date: dt.date | None = None
    type: Literal["serum", "urine"] | None = None
    result: Literal["negative", "positive"] | None = None


class Reproductive(_Part):
    childbearing_potential: bool | None = None
    pregnancy_test: PregnancyTest | None = None
    contraception_agreed: bool | None = Field(
        default=None, description="Barrier method, as required"
    )
    pregnant: bool | None = None
    breast_feeding: bool | None = None


class Consent(_Part):
    willing_and_able: bool | None = None
    signed_date: dt.date | None = None
    first_study_procedure_date: dt.date | None = None


class Event(_Part):
    occurred: bool | None = None
    date: dt.date | None = Field(default=None, description="Date of the most recent occurrence")


class GradedEvent(_Part):
    occurred: bool | None = None
    date: dt.date | None = None
    grade: int | None = Field(default=None, ge=1, le=5, description="NCI-CTCAE grade")


class Cardiac(_Part):
    nyha_class: int | None = Field(default=None, ge=0, le=4, description="0 = no heart failure")
    unstable_angina: bool | None = None
    new_onset_angina: Event | None = None
    myocardial_infarction: Event | None = None
    ventricular_arrhythmia_on_treatment: bool | None = None


class BloodPressure(_Part):
    systolic: int | None = Field(default=None, gt=0, lt=350)
    diastolic: int | None = Field(default=None, gt=0, lt=250)
    optimal_management: bool | None = Field(
        default=None, description="On optimal antihypertensive management"
    )


class OtherCancer(_Part):
    kind: Literal["cervical_in_situ", "basal_cell_treated", "superficial_bladder", "other"]
    description: str | None = None
    curatively_treated: bool | None = None
    treatment_end_date: dt.date | None = None


class History(_Part):
    bleeding_diathesis_or_coagulopathy: bool | None = None
    non_healing_wound_ulcer_or_fracture: bool | None = None
    interfering_condition: bool | None = Field(
        default=None,
        description="Substance abuse or a medical, psychological or social condition "
        "that may interfere",
    )
    peripheral_neuropathy_grade: int | None = Field(default=None, ge=0, le=5)
    cardiac: Cardiac | None = None
    blood_pressure: BloodPressure | None = None
    thromboembolic_event: Event | None = None
    pulmonary_haemorrhage: GradedEvent | None = None
    other_haemorrhage: GradedEvent | None = None
    active_infection_grade: int | None = Field(default=None, ge=0, le=5, description="0 = none")
    hiv: bool | None = None
    chronic_hepatitis_b: bool | None = None
    chronic_hepatitis_c: bool | None = None
    other_cancers: list[OtherCancer] | None = Field(default=None, description="[] = none")
    study_drug_allergy: bool | None = Field(
        default=None,
        description="Allergy to sorafenib or letrozole, or hypersensitivity to docetaxel, "
        "polysorbate 80 or ethanol",
    )
    major_surgery_or_injury: Event | None = Field(
        default=None, description="Major surgery, open biopsy or significant traumatic injury"
    )


class Body(_Part):
    height_cm: float | None = Field(default=None, gt=50, lt=250)
    weight_kg: float | None = Field(default=None, gt=20, lt=350)


class ScreeningRecord(_Part):
    """Everything needed to decide every SOR criterion and the background therapy."""

    patient: Patient | None = None
    planned_randomisation_date: dt.date | None = None
    histology: Histology | None = None
    disease: Disease | None = None
    receptors: Receptors | None = None
    menopause: Menopause | None = None
    prior_therapies: PriorTherapies | None = None
    ecog: int | None = Field(default=None, ge=0, le=5)
    labs: Labs | None = None
    anticoagulation: Anticoagulation | None = None
    reproductive: Reproductive | None = None
    consent: Consent | None = None
    able_to_swallow_tablets: bool | None = None
    history: History | None = None
    body: Body | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_schema_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "$schema" in data:
            data = {k: v for k, v in data.items() if k != "$schema"}
        return data


def parse_record(data: Any, *, source: str = "$") -> ScreeningRecord:
    """Validate raw JSON data; an invalid record raises :class:`RecordError` located at the
    field's path under ``source``, where the record sits (``$.labs.alt.value`` for a file,
    ``data.labs.alt.value`` for the ``data`` field of a request)."""
    try:
        return ScreeningRecord.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = source + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        value = error.get("input")
        shown = (
            f" (got {value!r})" if not isinstance(value, dict | list) and value is not None else ""
        )
        more = (
            f"; {exc.error_count() - 1} more problem(s) after fixing this"
            if exc.error_count() > 1
            else ""
        )
        raise RecordError(f"{error['msg']}{shown}{more}", location=path) from exc
