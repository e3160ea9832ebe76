"""SOR's case report forms by name, for tests that record SOR data.

The service names no SOR form (it finds forms by role or definition); the tests speak SOR.
tests/protocol/test_forms.py checks that this list is sor.yaml's case report forms.
"""

from __future__ import annotations

from enum import StrEnum


class Form(StrEnum):
    TUMOUR_BASELINE = "tumour_baseline"
    TUMOUR_ASSESSMENT = "tumour_assessment"
    STUDY_DRUG = "study_drug"
    DOCETAXEL_CYCLE = "docetaxel_cycle"
    LETROZOLE = "letrozole"
    ADVERSE_EVENT = "adverse_event"
    DEATH = "death"
    END_OF_TREATMENT = "end_of_treatment"
    END_OF_STUDY = "end_of_study"
    NEW_THERAPY = "new_therapy"
    LAST_KNOWN_ALIVE = "last_known_alive"
