"""The words of the screening form: labels of record fields and options, its sections, units.

Marked with ``N_`` for extraction (``make i18n``) and translated when a page is
rendered, so the catalogue holds every label the form can show.
"""

from __future__ import annotations

__all__ = [
    "LABELS",
    "N_",
    "OPTION_LABELS",
    "PARTS",
    "RECIST_WORDS",
    "ROLE_WORDS",
    "SECTIONS",
    "UNITS",
]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for a deferred translation
    """Mark a message for extraction; it is translated where it is shown."""
    return message


SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "patient": (
        N_("Patient"),
        ("patient", "planned_randomisation_date", "body", "ecog", "able_to_swallow_tablets"),
    ),
    "disease": (N_("Histology and disease"), ("histology", "disease")),
    "receptors": (N_("Receptors"), ("receptors",)),
    "menopause": (N_("Menopause"), ("menopause",)),
    "prior_therapies": (N_("Prior therapies"), ("prior_therapies",)),
    "labs": (N_("Laboratory values"), ("labs",)),
    "history": (N_("Medical history"), ("history", "anticoagulation")),
    "reproductive": (N_("Reproductive status"), ("reproductive",)),
    "consent": (N_("Consent"), ("consent",)),
}

# parts that read the same wherever they appear (the group's label says which)
PARTS: dict[str, str] = {
    "value": N_("Value"),
    "unit": N_("Unit"),
    "uln": N_("Upper limit of normal"),
    "lln": N_("Lower limit of normal"),
    "date": N_("Date"),
    "received": N_("Received"),
    "end_date": N_("End date"),
    "occurred": N_("Occurred"),
    "grade": N_("CTCAE grade"),
    "used": N_("Used"),
    "postmenopausal_min": N_("Lower limit of the postmenopausal range"),
}

LABELS: dict[str, str] = {
    "patient.sex": N_("Sex"),
    "patient.date_of_birth": N_("Date of birth"),
    "planned_randomisation_date": N_("Planned randomisation date"),
    "body": N_("Body measurements"),
    "body.height_cm": N_("Height (cm)"),
    "body.weight_kg": N_("Weight (kg)"),
    "ecog": N_("ECOG performance status"),
    "able_to_swallow_tablets": N_("Able to swallow tablets"),
    "histology": N_("Histology"),
    "histology.confirmed": N_("Histologically or cytologically confirmed"),
    "histology.method": N_("Method"),
    "histology.type": N_("Type"),
    "disease": N_("Disease"),
    "disease.extent": N_("Extent"),
    "disease.measurability": N_("Measurability"),
    "disease.resectable_with_curative_intent": N_("Resectable with curative intent"),
    "disease.bone": N_("Bone lesions"),
    "disease.soft_tissue": N_("Soft-tissue lesions"),
    "disease.visceral": N_("Visceral lesions"),
    "disease.liver": N_("Liver lesions"),
    "disease.brain": N_("Brain"),
    "disease.brain.metastases": N_("Brain metastases"),
    "disease.brain.neurological_symptoms": N_("Neurological symptoms"),
    "disease.brain.imaging_date": N_("Date of brain CT or MRI"),
    "disease.brain.evidence_of_disease": N_("Evidence of disease (treated metastases)"),
    "disease.brain.therapy_end_date": N_("End of therapy for brain metastases"),
    "disease.scan_dates": N_("Scan dates"),
    "receptors": N_("Receptors"),
    "receptors.er": N_("Oestrogen receptor (ER)"),
    "receptors.pgr": N_("Progesterone receptor (PgR)"),
    "receptors.her2": N_("HER2"),
    "receptors.her2.ihc": N_("HER2 immunohistochemistry"),
    "receptors.her2.fish": N_("HER2 FISH"),
    "menopause": N_("Menopause"),
    "menopause.bilateral_oophorectomy": N_("Bilateral oophorectomy"),
    "menopause.hysterectomy": N_("Hysterectomy"),
    "menopause.months_since_last_menses": N_("Months since last menses"),
    "menopause.gonadotropin_suppression": N_("On gonadotropin-suppressing agents"),
    "menopause.fsh": N_("FSH"),
    "menopause.ovarian_ablation": N_("Pharmacological ovarian ablation"),
    "prior_therapies": N_("Prior therapies"),
    "prior_therapies.adjuvant_taxane": N_("Adjuvant or neoadjuvant taxane"),
    "prior_therapies.other_adjuvant_chemotherapy": N_("Other adjuvant chemotherapy"),
    "prior_therapies.adjuvant_aromatase_inhibitor": N_("Adjuvant aromatase inhibitor"),
    "prior_therapies.adjuvant_tamoxifen": N_("Adjuvant tamoxifen"),
    "prior_therapies.radiotherapy": N_("Radiotherapy"),
    "prior_therapies.radiotherapy.acute_toxicity_recovered": N_("Recovered from acute toxicity"),
    "prior_therapies.radiotherapy.only_site_of_disease": N_(
        "Radiated areas are the only site of disease"
    ),
    "prior_therapies.radiotherapy.marrow_percent": N_("Share of bone marrow radiated, in per cent"),
    "prior_therapies.advanced_disease_therapy": N_(
        "Chemotherapy or endocrine therapy for advanced disease"
    ),
    "prior_therapies.anti_vegf": N_("Any agent targeting VEGF or VEGFR"),
    "prior_therapies.investigational_drug": N_("Investigational drug"),
    "prior_therapies.investigational_drug.last_dose_date": N_("Date of last dose"),
    "prior_therapies.investigational_drug.half_life_days": N_("Half-life (days)"),
    "prior_therapies.st_johns_wort_or_rifampin": N_("St John's wort or rifampicin"),
    "prior_therapies.st_johns_wort_or_rifampin.last_use_date": N_("Date of last use"),
    "prior_therapies.st_johns_wort_or_rifampin.ongoing": N_("Ongoing"),
    "prior_therapies.enzyme_inducing_antiepileptic": N_("Enzyme-inducing anti-epileptic drug"),
    "labs": N_("Laboratory values"),
    "labs.haemoglobin": N_("Haemoglobin"),
    "labs.anc": N_("Absolute neutrophil count"),
    "labs.platelets": N_("Platelets"),
    "labs.bilirubin": N_("Total bilirubin"),
    "labs.alt": N_("ALT"),
    "labs.ast": N_("AST"),
    "labs.inr": N_("INR"),
    "labs.aptt": N_("aPTT"),
    "labs.creatinine": N_("Creatinine"),
    "anticoagulation": N_("Anticoagulation"),
    "anticoagulation.agent": N_("Anticoagulant"),
    "reproductive": N_("Reproductive status"),
    "reproductive.childbearing_potential": N_("Of childbearing potential"),
    "reproductive.pregnancy_test": N_("Pregnancy test"),
    "reproductive.pregnancy_test.type": N_("Test type"),
    "reproductive.pregnancy_test.result": N_("Result"),
    "reproductive.contraception_agreed": N_("Agrees to barrier contraception"),
    "reproductive.pregnant": N_("Pregnant"),
    "reproductive.breast_feeding": N_("Breast-feeding"),
    "consent": N_("Consent"),
    "consent.willing_and_able": N_("Willing and able to comply with the protocol"),
    "consent.signed_date": N_("Date the consent form was signed"),
    "consent.first_study_procedure_date": N_("Date of the first study procedure"),
    "history": N_("Medical history"),
    "history.bleeding_diathesis_or_coagulopathy": N_("Bleeding diathesis or coagulopathy"),
    "history.non_healing_wound_ulcer_or_fracture": N_("Non-healing wound, ulcer or fracture"),
    "history.interfering_condition": N_("Condition that may interfere with the study"),
    "history.peripheral_neuropathy_grade": N_("Peripheral neuropathy (CTCAE grade)"),
    "history.cardiac": N_("Cardiac history"),
    "history.cardiac.nyha_class": N_("NYHA class (0 = no heart failure)"),
    "history.cardiac.unstable_angina": N_("Unstable angina"),
    "history.cardiac.new_onset_angina": N_("New-onset angina"),
    "history.cardiac.myocardial_infarction": N_("Myocardial infarction"),
    "history.cardiac.ventricular_arrhythmia_on_treatment": N_(
        "Ventricular arrhythmia needing treatment"
    ),
    "history.blood_pressure": N_("Blood pressure"),
    "history.blood_pressure.systolic": N_("Systolic (mmHg)"),
    "history.blood_pressure.diastolic": N_("Diastolic (mmHg)"),
    "history.blood_pressure.optimal_management": N_("On optimal antihypertensive management"),
    "history.thromboembolic_event": N_("Thrombotic or embolic event"),
    "history.pulmonary_haemorrhage": N_("Pulmonary haemorrhage"),
    "history.other_haemorrhage": N_("Other haemorrhage or bleeding"),
    "history.active_infection_grade": N_("Active infection (CTCAE grade, 0 = none)"),
    "history.hiv": N_("HIV infection"),
    "history.chronic_hepatitis_b": N_("Chronic hepatitis B"),
    "history.chronic_hepatitis_c": N_("Chronic hepatitis C"),
    "history.other_cancers": N_("Other cancers"),
    "history.study_drug_allergy": N_("Allergy to a study drug or excipient"),
    "history.major_surgery_or_injury": N_("Major surgery, open biopsy or significant injury"),
}

OPTION_LABELS: dict[str, str] = {
    "yes": N_("yes"),
    "no": N_("no"),
    "0": N_("0"),
    "1+": N_("1+"),
    "2+": N_("2+"),
    "3+": N_("3+"),
    "active": N_("active"),
    "adenocarcinoma": N_("adenocarcinoma"),
    "amplified": N_("amplified"),
    "cytological": N_("cytological"),
    "doac": N_("direct oral anticoagulant"),
    "evaluable": N_("evaluable"),
    "female": N_("female"),
    "heparin": N_("heparin"),
    "histological": N_("histological"),
    "lmwh": N_("low-molecular-weight heparin"),
    "locally_recurrent": N_("locally recurrent"),
    "male": N_("male"),
    "measurable": N_("measurable"),
    "metastatic": N_("metastatic"),
    "negative": N_("negative"),
    "none": N_("none"),
    "not_amplified": N_("not amplified"),
    "not_applicable": N_("not applicable"),
    "not_done": N_("not done"),
    "other": N_("other"),
    "positive": N_("positive"),
    "serum": N_("serum"),
    "treated": N_("treated"),
    "undergoing": N_("undergoing"),
    "unknown": N_("unknown"),
    "unwilling": N_("unwilling"),
    "urine": N_("urine"),
    "warfarin": N_("warfarin"),
    "willing": N_("willing"),
    "cervical_in_situ": N_("carcinoma in situ of the cervix"),
    "basal_cell_treated": N_("treated basal cell carcinoma"),
    "superficial_bladder": N_("superficial bladder tumour"),
    "listed": N_("yes, listed below"),
}

# the units a site may choose for each lab (each is one trialkit converts; see eligibility.units)
UNITS: dict[str, tuple[str, ...]] = {
    "haemoglobin": ("g/dL", "g/L", "mmol/L"),
    "anc": ("10^9/L", "/mm3", "/uL", "10^3/uL"),
    "platelets": ("10^9/L", "/mm3", "/uL", "10^3/uL"),
    "bilirubin": ("mg/dL", "umol/L"),
    "alt": ("U/L", "IU/L", "ukat/L"),
    "ast": ("U/L", "IU/L", "ukat/L"),
    "creatinine": ("mg/dL", "umol/L"),
    "inr": ("ratio",),
    "aptt": ("s",),
    "fsh": ("IU/L", "mIU/mL"),
}


RECIST_WORDS = {
    "CR": N_("complete response"),
    "PR": N_("partial response"),
    "SD": N_("stable disease"),
    "NON_CR_NON_PD": N_("non-CR/non-PD"),
    "PD": N_("progressive disease"),
    "NE": N_("not evaluable"),
    "NA": N_("not applicable"),
}
"""RECIST 1.1 responses in words (the codes of :mod:`trialkit.endpoints.recist`); the pages
show them through the ``recist`` filter."""

ROLE_WORDS = {
    "investigator": N_("investigator"),
    "pharmacist": N_("pharmacist"),
    "monitor": N_("monitor"),
    "statistician": N_("statistician"),
    "unblinded_statistician": N_("unblinded statistician"),
    "dsmb_member": N_("DSMB member"),
    "administrator": N_("administrator"),
}
"""The roles in words (the pages show them through the ``role`` filter)."""
